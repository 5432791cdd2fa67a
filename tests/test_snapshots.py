"""One snapshot per stack (platform and workspace stack of each environment, bootstrap). Snapshots catch unintended change; the assertion tests
prove intent. Update deliberately with `.venv/bin/python -m pytest tests/test_snapshots.py
--snapshot-update` and review the diff like code."""

from __future__ import annotations

import json
import re

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from tests.conftest import STACKS

pytestmark = pytest.mark.synth

# The wheel's asset directory is named by its content hash: an ML code change is not an
# infrastructure change, so the snapshot shows a stable stand-in.
ASSET_HASH = re.compile(r"(assets/[A-Za-z0-9_-]+/)[0-9A-F]{32}/")


def normalized(stack: dict) -> dict:
    return json.loads(ASSET_HASH.sub(r"\1<content-hash>/", json.dumps(stack)))


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack", STACKS)
def test_stack_snapshot(stacks, snapshot_json, stack: str) -> None:
    assert normalized(stacks[stack]) == snapshot_json
