"""The state document the bootstrap writes into every state blob before any stack runs (pure).

Terraform v1.11.4's azurerm backend (`internal/backend/remote-state/azure/`) reads a stack's
state blob when it opens it (`backend_state.go` `StateMgr`, 84-150). If the read gives no state,
it takes a lease on the blob (creating the blob if it is missing, `client.go` `Lock`, 168-186),
writes an empty state and releases the lease: three writes, whatever `-lock=false` says
(`-lock=false` only skips the operation's own lock, taken later). "No state" is a missing blob
*and* a blob of zero bytes (`client.go` `Get`, 62-73). So the read-only plan identity can open a
stack only once its blob holds a real (empty) state document, which this module builds; the
bootstrap writes one per state key. Reading it, Terraform finds a state and writes nothing.
"""

from __future__ import annotations

import json
import uuid

TERRAFORM_VERSION = "1.11.4"
"""The Terraform version the workflows pin; recorded in the document like Terraform does (it
refuses no state for its version field: `internal/states/statefile/version4.go` 39-50)."""


def state_lineage(storage_account: str, container: str, key: str) -> str:
    """A lineage unique to one state blob and stable between synths (a UUIDv5 of its URL), so
    the document is deterministic and no two stacks share a lineage."""
    url = f"https://{storage_account}.blob.core.windows.net/{container}/{key}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, url))


def empty_state_document(lineage: str) -> str:
    """A version-4 state with no resources and no outputs, as Terraform writes one.

    Serial 1, not 0: `remote.State.PersistState` treats a read serial of 0 as "changed" and
    would write the state back on the next persist even when nothing changed
    (`internal/states/remote/state.go` 176-184)."""
    return json.dumps(
        {
            "version": 4,
            "terraform_version": TERRAFORM_VERSION,
            "serial": 1,
            "lineage": lineage,
            "outputs": {},
            "resources": [],
            "check_results": None,
        },
        indent=2,
        sort_keys=False,
    )
