"""Hostile, broken and faulty input: every case ends in a clear exit status, never a traceback for
a user's mistake, never a secret in what is printed or written, never a touched earlier output.

Each case edits a copy of the project (config, templates, the ML package's pyproject, files in
the output's place) and runs it one of two ways:

* `process`: `python main.py` as the CLI runs it, in the copy, with `CDKTF_OUTDIR` pointing at
  a copy of an earlier output. Used for everything that involves the process itself (a crash of
  the C YAML parser, a FIFO that would block, the jsii kernel, environment variables, the
  output directory, the policy pack and the scan of the synthesized output) and for a
  representative few of the rest.
* `inprocess`: the same steps `main.py` takes before synthesis (output directory check,
  config loading, remote state, wheel, bootstrap config, rendering every template of every
  environment through `constructs_lib.databricks.job_specs.specs`), in this process, with `main.py`'s
  mapping of `ConfigError` to exit status 2 and `error: ...` on stderr. Faithful for what
  fails before synthesis, and ~50 times faster than a process.

Every case asserts: the exit status; the first message line (`error: ...`) and the start of the
first problem line; no traceback; the case's secret in neither stdout, stderr nor the output;
and the earlier output byte for byte as it was.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from synth_runtime.staged_output import StagedOutput
from tests.conftest import ROOT

pytestmark = pytest.mark.synth

# Fake secrets in the real formats (none of them is a real credential).
ENTRA_SECRET = "k9L8Q~aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z"
DATABRICKS_PAT = "dapi" + "0123456789abcdef" * 2
GITHUB_PAT = "github_pat_11AAAAAAA0BBBBBBBBBBBB_" + "c" * 59
GITHUB_CLASSIC = "ghp_" + "A1b2C3d4E5" * 3 + "F6g7H8"
AWS_KEY = "AKIAIOSFODNN7EXAMPLQ"
STORAGE_KEY = "Zm9vYmFy" * 10 + "Zm9vYm" + "=="
SAS_SIG = "sig=" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789%2B%3D"
PEM_HEADER = "-----BEGIN ENCRYPTED PRIVATE KEY-----"
URL_PASSWORD = "Sup3rS3cretPassw0rd"
SPLIT_TOKEN = 'dapi0123456789abcdef${""}0123456789abcdef'


@dataclass(frozen=True)
class Result:
    status: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Case:
    area: str
    """config, bootstrap, template, secret, policy, env, filesystem, exit."""
    edit: Callable[[Path], None]
    """Changes the project copy (its argument)."""
    problem: str
    """What the first problem line (or, for a non-`ConfigError` message, the first line)
    starts with."""
    detail: str = ""
    """Text the first problem line contains after that (where the start holds a line number
    that moves with the config files)."""
    status: int = 2
    mode: str = "inprocess"
    env: dict[str, str] = field(default_factory=dict)
    secret: str | None = None
    """Must appear nowhere in stdout, stderr or the output directory."""
    args: tuple[str, ...] = ()


# --- edits ---------------------------------------------------------------------------------------


def replace(relpath: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(project: Path) -> None:
        path = project / relpath
        text = path.read_text()
        assert old in text, (relpath, old)
        path.write_text(text.replace(old, new, 1))

    return edit


def append(relpath: str, text: str) -> Callable[[Path], None]:
    def edit(project: Path) -> None:
        path = project / relpath
        path.write_text(path.read_text() + text)

    return edit


def write(relpath: str, content: str | bytes) -> Callable[[Path], None]:
    def edit(project: Path) -> None:
        path = project / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)

    return edit


def fifo(relpath: str) -> Callable[[Path], None]:
    def edit(project: Path) -> None:
        path = project / relpath
        path.unlink(missing_ok=True)
        os.mkfifo(path)

    return edit


def both(*edits: Callable[[Path], None]) -> Callable[[Path], None]:
    def edit(project: Path) -> None:
        for e in edits:
            e(project)

    return edit


def dev(old: str, new: str) -> Callable[[Path], None]:
    return replace("config/dev.yaml", old, new)


def dev_tags(extra: str) -> Callable[[Path], None]:
    return dev("tags:\n", f"tags:\n{extra}")


def dev_extra(text: str) -> Callable[[Path], None]:
    return append("config/dev.yaml", text)


def in_template(
    text: str, template: str = "jobs/batch_inference.yaml.j2"
) -> Callable[[Path], None]:
    """Put `text` (a line of YAML/Jinja) before the template's `tasks:`."""
    return replace(f"templates/{template}", "tasks:\n", f"{text}\ntasks:\n")


def nothing(project: Path) -> None:
    return None


REMOTE = "state_backend: {type: azurerm, resource_group_name: rg, storage_account_name: tfstate01"

# --- the table -----------------------------------------------------------------------------------

CASES: dict[str, Case] = {
    # Config: the YAML itself
    "deep nesting (the C parser segfaulted)": Case(
        "config",
        write("config/dev.yaml", "tags: " + "[" * 200_000 + "]" * 200_000 + "\n"),
        "config/dev.yaml: line ",
        detail="nested more than 64 levels deep",
        mode="process",
    ),
    "alias bomb under a name field": Case(
        "config",
        dev_extra(
            "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
            + "".join(f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 8))
            + "naming: {prefix: *a7}\n"
        ),
        "config/dev.yaml: line ",
        detail="more than 200,000 values once its aliases are expanded",
    ),
    "recursive alias": Case(
        "config", dev_extra("loop: &l [*l]\n"), "config/dev.yaml: line ", detail="alias *l"
    ),
    "duplicate top-level key": Case(
        "config",
        dev("protected: false\n", "protected: false\nprotected: true\n"),
        "config/dev.yaml: line ",
        detail="duplicate key 'protected'",
    ),
    "duplicate key in a flow mapping": Case(
        "config",
        dev("storage:\n", "tags2: {a: 1, a: 2}\nstorage:\n"),
        "config/dev.yaml: line ",
        detail="duplicate key 'a'",
    ),
    "infinite number": Case(
        "config",
        dev("  retention_in_days: 30\n", "  retention_in_days: 30\n  daily_quota_gb: .inf\n"),
        "config/dev.yaml: line ",
        detail="an infinite number is not a usable value",
    ),
    "NaN": Case(
        "config",
        dev_extra("  ml: {psi_threshold: .nan}\n"),
        "config/dev.yaml: line ",
        detail="NaN is not a usable value",
    ),
    "integer above 2**53": Case(
        "config",
        dev("soft_delete_retention_days: 7", "soft_delete_retention_days: 9007199254740993"),
        "config/dev.yaml: line ",
        detail="integer with 16 digits is beyond +-2**53",
    ),
    "python object tag": Case(
        "config",
        dev_extra("x: !!python/object/apply:os.system [id]\n"),
        "config/dev.yaml: line ",
        detail="the YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not supported here",
    ),
    "binary tag": Case(
        "config",
        dev_tags("  blob: !!binary aGVsbG8=\n"),
        "config/dev.yaml: line ",
        detail="the YAML tag 'tag:yaml.org,2002:binary' is not supported here",
    ),
    "a list where a mapping belongs": Case(
        "config",
        write("config/dev.yaml", "- azure\n- network\n"),
        "config/dev.yaml: expected a mapping of settings, got a list",
    ),
    "a list as a mapping key": Case(
        "config",
        dev_extra("? [a, b]\n: 1\n"),
        "config/dev.yaml: line ",
        detail="a mapping key must be a plain value",
    ),
    "FIFO named like a config (hung the run)": Case(
        "filesystem",
        fifo("config/qa.yaml"),
        "config/qa.yaml: cannot read the file (not a regular file: a FIFO (named pipe))",
        mode="process",
    ),
    "config is not UTF-8": Case(
        "config",
        write("config/dev.yaml", b"protected: false\ntags: {owner: caf\xe9}\n"),
        "config/dev.yaml: cannot read the file (not valid UTF-8 (byte 35, line 2))",
    ),
    "config larger than 1 MiB": Case(
        "config",
        dev_extra("# " + "x" * (1 << 20) + "\n"),
        "config/dev.yaml: cannot read the file (larger than 1024 KiB)",
    ),
    "a 200 KB value is cut in the message": Case(
        "config",
        dev("retention_in_days: 30", "retention_in_days: " + "9x" * 100_000),
        "config/dev.yaml: log_analytics.retention_in_days: got '9x9x9x9x",
    ),
    "merge key with a duplicate explicit key": Case(
        "config",
        dev_extra("base: &b {x: 1}\nother:\n  <<: *b\n  y: 1\n  y: 2\n"),
        "config/dev.yaml: line ",
        detail="duplicate key 'y'",
    ),
    # Config: names, state, values
    "environment named bootstrap": Case(
        "config",
        lambda p: shutil.copy(p / "config" / "dev.yaml", p / "config" / "bootstrap.yaml"),
        "config/bootstrap.yaml: environment name 'bootstrap' is reserved",
        mode="process",
    ),
    "state key with ..": Case(
        "config",
        dev_extra(REMOTE + ", key: ../prod.tfstate}\n"),
        "config/dev.yaml: state_backend.key: must be a relative blob name ending in .tfstate",
    ),
    "state key not ending in .tfstate": Case(
        "config",
        dev_extra(REMOTE + ", key: dev}\n"),
        "config/dev.yaml: state_backend.key: must be a relative blob name ending in .tfstate",
    ),
    "two environments share one state blob": Case(
        "config",
        both(
            dev_extra(REMOTE + ", key: shared.tfstate}\n"),
            append("config/uat.yaml", REMOTE + ", key: shared.tfstate}\n"),
        ),
        "config/uat.yaml: state_backend.key: state blob tfstate01/tfstate/shared.tfstate is also used by environment 'dev'",
    ),
    "a state key that is another environment's workspace key": Case(
        "config",
        both(
            dev_extra(REMOTE + ", key: uat-workspace.tfstate}\n"),
            append("config/uat.yaml", REMOTE + "}\n"),
        ),
        "config/uat.yaml: state_backend.key: state blob tfstate01/tfstate/uat-workspace.tfstate is also used by environment 'dev'",
    ),
    "Terraform interpolation in a tag value": Case(
        "config",
        dev_tags('  note: ${file("/etc/hostname")}\n'),
        "config/dev.yaml: tags.note: contains '${', which Terraform would evaluate",
        mode="process",
    ),
    "Terraform directive in a tag value": Case(
        "config",
        dev_tags("  note: '%{ for x in [1] }x%{ endfor }'\n"),
        "config/dev.yaml: tags.note: contains '%{', which Terraform would evaluate",
    ),
    "interpolation in a tag key": Case(
        "config",
        dev_tags("  ${var.x}: y\n"),
        "config/dev.yaml: tags.${var.x}: contains '${'",
    ),
    "interpolation in a group name": Case(
        "config",
        dev("databricks:\n", "databricks:\n  groups: {admins: '${data.x.y}'}\n"),
        "config/dev.yaml: databricks.groups.admins: contains '${'",
    ),
    "path-like experiment name": Case(
        "config",
        dev("databricks:\n", "databricks:\n  ml: {experiment_name: ../../Users/someone/x}\n"),
        "config/dev.yaml: databricks.ml.experiment_name: '../../Users/someone/x' is not an experiment name",
    ),
    "e-mail address without a domain": Case(
        "config",
        dev("ml-platform-team@example.com", "ml-platform-team@localhost"),
        "config/dev.yaml: monitoring.alert_email_receivers[0].email_address: 'ml-platform-team@localhost' is not a plain e-mail address",
    ),
    "e-mail address with shell syntax": Case(
        "config",
        dev("ml-platform-team@example.com", "'a@example.com; rm -rf /'"),
        "config/dev.yaml: monitoring.alert_email_receivers[0].email_address: 'a@example.com; rm -rf /' is not a plain e-mail address",
    ),
    "notification e-mail list": Case(
        "config",
        dev(
            "databricks:\n",
            "databricks:\n  notification_emails: [ok@example.com, 'not an address']\n",
        ),
        "config/dev.yaml: databricks.notification_emails[1]: 'not an address' is not a plain e-mail address",
    ),
    "tag value over 256 characters": Case(
        "config",
        dev_tags(f"  note: {'n' * 300}\n"),
        "config/dev.yaml: tags: tag value(s) of ['note'] longer than 256 characters",
    ),
    "tag key longer than a storage account allows": Case(
        "config",
        dev_tags(f"  {'k' * 129}: v\n"),
        "config/dev.yaml: tags: invalid tag key(s) ['kkkk",
        detail="use 1-128 characters without",
    ),
    "too many tags": Case(
        "config",
        dev_tags("".join(f"  t{i}: v\n" for i in range(49))),
        "config/dev.yaml: tags: 51 tags. Fix: use at most 48",
    ),
    "whitespace-only suppression reason": Case(
        "policy",
        dev(
            "protected: false\n",
            "protected: false\npolicy: {suppressions: [{rule: MLOPS-CL-1, reason: '"
            + " " * 30
            + "'}]}\n",
        ),
        "config/dev.yaml: policy.suppressions[0].reason: the reason is blank or shorter than 20 characters",
    ),
    "IP rule prefix limit of /0": Case(
        "policy",
        dev("protected: false\n", "protected: false\npolicy: {min_ip_rule_prefix_length: 0}\n"),
        "config/dev.yaml: policy.min_ip_rule_prefix_length: got 0: input should be greater than or equal to 8",
    ),
    # Secrets in config: named redacted, never echoed
    "Entra ID client secret in a tag": Case(
        "secret",
        dev_tags(f"  note: {ENTRA_SECRET}\n"),
        "config/dev.yaml: tags.note: looks like a secret: Entra ID client secret (k9L8… (40 chars))",
        secret=ENTRA_SECRET,
        mode="process",
    ),
    "Databricks token pasted into a validated field": Case(
        "secret",
        dev("protected: false\n", f"protected: false\nnaming: {{prefix: {DATABRICKS_PAT}}}\n"),
        "config/dev.yaml: naming.prefix: looks like a secret: Databricks personal access token (dapi… (36 chars))",
        secret=DATABRICKS_PAT,
        mode="process",
    ),
    "fine-grained GitHub token in a Git folder URL": Case(
        "secret",
        dev(
            "databricks:\n",
            f"databricks:\n  git_folder: {{url: 'https://x:{GITHUB_PAT}@github.com/o/r'}}\n",
        ),
        "config/dev.yaml: databricks.git_folder.url: looks like a secret: GitHub token (gith… (93 chars))",
        secret=GITHUB_PAT,
    ),
    "classic GitHub token as a URL user": Case(
        "secret",
        dev(
            "databricks:\n",
            f"databricks:\n  git_folder: {{url: 'https://{GITHUB_CLASSIC}@github.com/o/r'}}\n",
        ),
        "config/dev.yaml: databricks.git_folder.url: looks like a secret: GitHub token (ghp_… (40 chars))",
        secret=GITHUB_CLASSIC,
    ),
    "password inside a URL": Case(
        "secret",
        dev(
            "databricks:\n",
            f"databricks:\n  git_folder: {{url: 'https://me:{URL_PASSWORD}@dev.azure.com/o/p/_git/r'}}\n",
        ),
        "config/dev.yaml: databricks.git_folder.url: looks like a secret: credentials in a URL (Sup3… (19 chars))",
        secret=URL_PASSWORD,
    ),
    "encrypted PEM key in a tag": Case(
        "secret",
        dev_tags(f"  key: '{PEM_HEADER}'\n"),
        "config/dev.yaml: tags.key: looks like a secret: private key (----… (37 chars))",
        secret="ENCRYPTED PRIVATE KEY",
    ),
    "storage account key": Case(
        "secret",
        dev_tags(f"  k: '{STORAGE_KEY}'\n"),
        "config/dev.yaml: tags.k: looks like a secret: Azure storage account key (Zm9v… (88 chars))",
        secret=STORAGE_KEY,
    ),
    "SAS token in a URL": Case(
        "secret",
        dev_tags(f"  u: 'https://a.blob.core.windows.net/c?sv=2022-11-02&{SAS_SIG}'\n"),
        "config/dev.yaml: tags.u: looks like a secret: SAS token (AbCd… (42 chars))",
        secret=SAS_SIG[4:],
    ),
    "storage connection string": Case(
        "secret",
        dev_tags(
            f"  cs: 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey={STORAGE_KEY}'\n"
        ),
        "config/dev.yaml: tags.cs: looks like a secret: Azure storage account key (Zm9v… (88 chars))",
        secret=STORAGE_KEY,
    ),
    "AWS key (detect-secrets plugin)": Case(
        "secret",
        dev_tags(f"  aws: {AWS_KEY}\n"),
        "config/dev.yaml: tags.aws: looks like a secret: AWS Access Key (detect-secrets) (AKIA… (20 chars))",
        secret=AWS_KEY,
    ),
    "token split by an interpolation": Case(
        "secret",
        dev_tags(f"  t: '{SPLIT_TOKEN}'\n"),
        "config/dev.yaml: tags.t: contains '${'",
        secret="0123456789abcdef0123456789abcdef",
    ),
    "a password key with a literal value": Case(
        "secret",
        dev_tags("  password: hunter2hunter2\n"),
        "config/dev.yaml: tags.password: looks like a secret: literal value of a 'password' key (hunt… (14 chars))",
        secret="hunter2hunter2",
    ),
    # Bootstrap config
    "duplicate environments in the bootstrap config": Case(
        "bootstrap",
        append("config/shared/bootstrap.yaml", "environments: [dev, dev, prod]\n"),
        "config/shared/bootstrap.yaml: environments: listed more than once: dev",
        mode="process",
    ),
    "duplicate key in the bootstrap config": Case(
        "bootstrap",
        append("config/shared/bootstrap.yaml", "location: northeurope\n"),
        "config/shared/bootstrap.yaml: line ",
        detail="duplicate key 'location'",
    ),
    "bootstrap config is not UTF-8": Case(
        "bootstrap",
        write("config/shared/bootstrap.yaml", b"github_repository: o/r\nlocation: \xff\n"),
        "config/shared/bootstrap.yaml: cannot read the file (not valid UTF-8",
        mode="process",
    ),
    "bootstrap config is a FIFO": Case(
        "bootstrap",
        fifo("config/shared/bootstrap.yaml"),
        "config/shared/bootstrap.yaml: cannot read the file (not a regular file: a FIFO",
    ),
    "interpolation in a bootstrap value": Case(
        "bootstrap",
        append("config/shared/bootstrap.yaml", "plan_environment_suffix: '-${var.x}'\n"),
        "config/shared/bootstrap.yaml: plan_environment_suffix: contains '${'",
    ),
    "ML package metadata is not UTF-8": Case(
        "config",
        write("ml_src/pyproject.toml", b'[project]\nname = "taxi\xff"\n'),
        "ml_src/pyproject.toml: project: cannot read the ML package's name and version",
        mode="process",
    ),
    # Templates: escape attempts (all end in exit 2 naming the template)
    "template reads os.environ through a global": Case(
        "template",
        in_template("x: {{ cycler.__init__.__globals__.os.environ }}"),
        "templates/jobs/batch_inference.yaml.j2: environment dev: refused by the template sandbox: access to attribute '__init__' of 'StrictUndefined' object is unsafe",
    ),
    "template walks __class__ to __subclasses__": Case(
        "template",
        in_template("x: {{ ''.__class__.__mro__[1].__subclasses__() }}"),
        "templates/jobs/batch_inference.yaml.j2: environment dev: refused by the template sandbox: access to attribute '__class__' of 'str' object is unsafe",
    ),
    "template reaches a function's __globals__": Case(
        "template",
        in_template("x: {{ range.__globals__ }}"),
        "templates/jobs/batch_inference.yaml.j2: environment dev: refused by the template sandbox: access to attribute '__globals__'",
    ),
    "template uses lipsum's globals": Case(
        "template",
        in_template("x: {{ lipsum.__globals__['os'].popen('id').read() }}"),
        "templates/jobs/batch_inference.yaml.j2: environment dev: undefined variable: 'lipsum' is undefined",
    ),
    "template reads its own context": Case(
        "template",
        in_template("x: {{ self._TemplateReference__context }}"),
        "templates/jobs/batch_inference.yaml.j2: environment dev: refused by the template sandbox",
    ),
    "template format-string attack": Case(
        "template",
        in_template("x: {{ '{0.__class__.__init__.__globals__}'.format(wheel) }}"),
        "templates/jobs/batch_inference.yaml.j2: environment dev: refused by the template sandbox",
    ),
    "template changes a value passed in": Case(
        "template",
        in_template("x: {{ job_parameters.update({'catalog': 'main'}) }}"),
        "templates/jobs/batch_inference.yaml.j2: environment dev: refused by the template sandbox: access to attribute 'update' of 'dict' object is unsafe",
    ),
    "template grows a value in a loop": Case(
        "template",
        in_template("{% set ns = namespace(s='x') %}x: 1"),
        "templates/jobs/batch_inference.yaml.j2: environment dev: undefined variable: 'namespace' is undefined",
    ),
    "template includes a file outside templates/": Case(
        "template",
        in_template("{% include '../config/dev.yaml' %}"),
        "templates/../config/dev.yaml: environment dev: template not found",
    ),
    "template includes an absolute path": Case(
        "template",
        in_template("{% include '/etc/passwd' %}"),
        "templates//etc/passwd: environment dev: template not found",
    ),
    "template symlinked outside templates/": Case(
        "template",
        both(
            lambda p: (p / "templates" / "jobs" / "leak.yaml.j2").symlink_to("/etc/hostname"),
            in_template("{% include 'jobs/leak.yaml.j2' %}"),
        ),
        "templates/jobs/leak.yaml.j2: environment dev: resolves outside the templates directory",
    ),
    "template builds a huge string": Case(
        "template",
        in_template("x: {{ 'x' * 100000000 }}"),
        "templates/jobs/batch_inference.yaml.j2: environment dev: refused by the template sandbox: repeating a str 100000000 times is too large",
    ),
    "template builds a huge number": Case(
        "template",
        in_template("x: {{ 10 ** 1000000 }}"),
        "templates/jobs/batch_inference.yaml.j2: environment dev: refused by the template sandbox",
    ),
    "template divides by zero": Case(
        "template",
        in_template("x: {{ 1/0 }}"),
        "templates/jobs/batch_inference.yaml.j2: environment dev: an expression failed while rendering: ZeroDivisionError: division by zero",
    ),
    "template macro recursion": Case(
        "template",
        in_template("{% macro r() %}{{ r() }}{% endmacro %}x: {{ r() }}"),
        "templates/jobs/batch_inference.yaml.j2: environment dev: rendering recursed too deeply",
    ),
    "template includes itself": Case(
        "template",
        in_template("{% include 'jobs/batch_inference.yaml.j2' %}"),
        "templates/jobs/batch_inference.yaml.j2: environment dev: rendering recursed too deeply",
    ),
    "template is not UTF-8": Case(
        "template",
        write("templates/jobs/batch_inference.yaml.j2", b"description: caf\xe9\ntasks: []\n"),
        "templates/jobs/batch_inference.yaml.j2: environment dev: a template is not valid UTF-8 (byte 17",
    ),
    "template renders infinity": Case(
        "template",
        in_template("x: .inf"),
        "templates/jobs/batch_inference.yaml.j2: environment dev, rendered line ",
        detail="rendered YAML is refused: an infinite number",
    ),
    "template passes NaN to tojson": Case(
        "template",
        in_template("x: {{ (1e308 * 10) | tojson }}"),
        "templates/jobs/batch_inference.yaml.j2: environment dev: an expression failed while rendering: ValueError: Out of range float values are not JSON compliant",
    ),
    "template renders an integer above 2**53": Case(
        "template",
        in_template("x: 18014398509481984"),
        "templates/jobs/batch_inference.yaml.j2: environment dev, rendered line ",
        detail="rendered YAML is refused: integer with 17 digits",
    ),
    "a second tasks: key (emptied a job)": Case(
        "template",
        append("templates/jobs/batch_inference.yaml.j2", "tasks: []\n"),
        "templates/jobs/batch_inference.yaml.j2: environment dev, rendered line ",
        detail="rendered YAML is refused: duplicate key 'tasks'",
    ),
    "tasks of the wrong shape": Case(
        "template",
        replace("templates/jobs/monitoring.yaml.j2", "tasks:\n", "tasks: 5\nxtasks:\n"),
        "templates/jobs/monitoring.yaml.j2: environment dev: tasks: must be a list of mappings, got a int",
        mode="process",
    ),
    "tasks as a list of strings": Case(
        "template",
        replace("templates/jobs/monitoring.yaml.j2", "tasks:\n", "tasks: [a, b]\nxtasks:\n"),
        "templates/jobs/monitoring.yaml.j2: environment dev: tasks: must be a list of mappings, got a list of str",
    ),
    "Terraform interpolation written by a template": Case(
        "template",
        in_template('x: "${file(\\"/etc/hostname\\")}"'),
        "templates/jobs/batch_inference.yaml.j2: environment dev: x: contains '${', which Terraform would evaluate",
    ),
    "Terraform interpolation built from a YAML escape": Case(
        "template",
        in_template('x: "\\x24{var.x}"'),
        "templates/jobs/batch_inference.yaml.j2: environment dev: x: contains '${'",
    ),
    "Terraform directive written by a template": Case(
        "template",
        in_template("x: '%{ if true }y%{ endif }'"),
        "templates/jobs/batch_inference.yaml.j2: environment dev: x: contains '%{'",
    ),
    "template joins a token from pieces": Case(
        "secret",
        in_template("x: {{ ('dapi0123456789abcdef' ~ '0123456789abcdef') | tojson }}"),
        "templates/jobs/batch_inference.yaml.j2: environment dev, rendered line ",
        detail="looks like a secret: Databricks personal access token (dapi… (36 chars))",
        secret=DATABRICKS_PAT,
        mode="process",
    ),
    "template with an Entra secret": Case(
        "secret",
        in_template(f"x: {ENTRA_SECRET}"),
        "templates/jobs/batch_inference.yaml.j2: environment dev, rendered line ",
        detail="looks like a secret: Entra ID client secret",
        secret=ENTRA_SECRET,
    ),
    # Environment variables
    "invalid TF_STATE_STORAGE_ACCOUNT": Case(
        "env",
        nothing,
        "environment variable TF_STATE_STORAGE_ACCOUNT: got 'My-State!': not a storage account name",
        env={"TF_STATE_STORAGE_ACCOUNT": "My-State!"},
        mode="process",
    ),
    "empty TF_STATE_STORAGE_ACCOUNT (a missing CI variable)": Case(
        "env",
        nothing,
        "environment variable TF_STATE_STORAGE_ACCOUNT: is set but empty",
        env={"TF_STATE_STORAGE_ACCOUNT": ""},
    ),
    "empty TF_STATE_RESOURCE_GROUP": Case(
        "env",
        nothing,
        "environment variable TF_STATE_RESOURCE_GROUP: is set but empty",
        env={"TF_STATE_STORAGE_ACCOUNT": "tfstate01", "TF_STATE_RESOURCE_GROUP": ""},
        mode="process",
    ),
    "resource group ending in a period": Case(
        "env",
        nothing,
        "environment variable TF_STATE_RESOURCE_GROUP: got 'rg.': not a resource group name",
        env={"TF_STATE_STORAGE_ACCOUNT": "tfstate01", "TF_STATE_RESOURCE_GROUP": "rg."},
    ),
    "a token pasted into TF_STATE_STORAGE_ACCOUNT": Case(
        "env",
        nothing,
        "environment variable TF_STATE_STORAGE_ACCOUNT: got 'dapi… (36 chars)': not a storage account name",
        env={"TF_STATE_STORAGE_ACCOUNT": DATABRICKS_PAT},
        secret=DATABRICKS_PAT,
        mode="process",
    ),
    "MLOPS_SYNTH_WORKERS not a number": Case(
        "env",
        nothing,
        "environment variable MLOPS_SYNTH_WORKERS: ",
        env={"MLOPS_SYNTH_WORKERS": "banana"},
        mode="process",
    ),
    "MLOPS_CONFIG_DIR is a file": Case(
        "env",
        nothing,
        "config/dev.yaml: config directory not found",
        env={"MLOPS_CONFIG_DIR": "config/dev.yaml"},
        mode="process",
    ),
    # Output directory
    "CDKTF_OUTDIR=.": Case(
        "filesystem",
        nothing,
        "output directory .: exists, is not empty and was not written by this app",
        env={"CDKTF_OUTDIR": "."},
        mode="process",
    ),
    "CDKTF_OUTDIR empty": Case(
        "filesystem",
        nothing,
        "output directory .: exists, is not empty and was not written by this app",
        env={"CDKTF_OUTDIR": ""},
    ),
    "CDKTF_OUTDIR a foreign directory": Case(
        "filesystem",
        write("mine/thesis.tex", "years of work"),
        "output directory mine: exists, is not empty and was not written by this app",
        env={"CDKTF_OUTDIR": "mine"},
        mode="process",
    ),
    "CDKTF_OUTDIR a file": Case(
        "filesystem",
        write("out.json", "{}"),
        "output directory out.json: exists and is not a directory",
        env={"CDKTF_OUTDIR": "out.json"},
    ),
    "CDKTF_OUTDIR the root directory": Case(
        "filesystem",
        nothing,
        "output directory /: is the root of the file system",
        env={"CDKTF_OUTDIR": "/"},
    ),
    # Policy and output scan (need a synthesis)
    "0.0.0.0/0 on a dev storage firewall": Case(
        "policy",
        dev(
            "  account_replication_type: LRS\n",
            "  account_replication_type: LRS\n  allowed_ip_ranges: [0.0.0.0/0]\n",
        ),
        "dev/Storage/Account (MLOPS-NET-2): Firewall IP rules are narrow (never 0.0.0.0/0): network_rules.ip_rules allows '0.0.0.0/0'",
        mode="process",
    ),
    "a sandbox suppression does not reach prod": Case(
        "policy",
        append("config/prod.yaml", "azure_ml: {enabled: true}\n"),
        "prod/AzureMl/Storage (MLOPS-NET-1)",
        mode="process",
    ),
}


# --- runners -------------------------------------------------------------------------------------


def make_project(tmp_path: Path) -> Path:
    """A copy of the project a user could break, with the built wheel."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("main.py", "cdktf.json"):
        shutil.copy(ROOT / name, project / name)
    ignore = shutil.ignore_patterns("__pycache__")
    for name in ("constructs_lib", "fast_synth", "synth_runtime", "stacks", "templates", "config"):
        shutil.copytree(ROOT / name, project / name, ignore=ignore)
    (project / "ml_src").mkdir()
    shutil.copy(ROOT / "ml_src" / "pyproject.toml", project / "ml_src" / "pyproject.toml")
    shutil.copytree(ROOT / "ml_src" / "dist", project / "ml_src" / "dist")
    return project


def run_process(
    project: Path, outdir: Path, env: dict[str, str], args: tuple[str, ...] = (), timeout: int = 120
) -> Result:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "TF_STATE_"))}
    full_env = {
        **inherited,
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "CDKTF_OUTDIR": str(outdir),
        "TMPDIR": str(outdir.parent / "tmp"),
        **env,
    }
    (outdir.parent / "tmp").mkdir(exist_ok=True)
    proc = subprocess.run(
        [sys.executable, str(project / "main.py"), *args],
        cwd=project,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def run_inprocess(
    project: Path, outdir: Path, env: dict[str, str], args: tuple[str, ...] = ()
) -> Result:
    """What `main.main()` does before synthesis, with its exit status and error line."""
    from constructs_lib.config import ConfigError, load_environments, with_remote_state
    from constructs_lib.config.bootstrap import load_bootstrap_for
    from constructs_lib.databricks.job_specs import rendering as template_rendering
    from constructs_lib.databricks.job_specs import specs
    from constructs_lib.databricks.job_specs.wheel_artifact import locate_wheel
    from synth_runtime.staged_output import StagedOutput

    assert not args
    cwd = Path.cwd()
    os.chdir(project)  # CDKTF_OUTDIR is relative to the working directory, as in main.py
    render = functools.partial(template_rendering.render_spec, templates_dir=project / "templates")
    original = specs.render_spec
    specs.render_spec = render
    try:
        StagedOutput(Path(env.get("CDKTF_OUTDIR", str(outdir)))).check()
        configs = load_environments(project / "config", root=project)
        if "TF_STATE_STORAGE_ACCOUNT" in env:
            configs = with_remote_state(
                configs,
                storage_account_name=env["TF_STATE_STORAGE_ACCOUNT"],
                resource_group_name=env.get("TF_STATE_RESOURCE_GROUP", "mlops-tfstate-rg"),
            )
        wheel = locate_wheel(project / "ml_src", root=project)
        load_bootstrap_for(configs, project / "config" / "shared" / "bootstrap.yaml", root=project)
        for config in configs:
            refs = specs.placeholder_refs(config, wheel.package_name, wheel.version)
            cluster = specs.job_cluster_spec(config, refs)
            specs.interactive_cluster_spec(config, refs)
            for key in config.databricks.jobs:
                specs.job_spec(config, key, refs, cluster)
    except ConfigError as exc:
        return Result(2, "", f"error: {exc}\n")
    finally:
        specs.render_spec = original
        os.chdir(cwd)
    return Result(0, "", "")


def tree_digest(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def first_problem(stderr: str) -> str:
    lines = stderr.splitlines()
    if len(lines) > 1 and re.fullmatch(r"error: \d+ problems? found:", lines[0]):
        return lines[1].removeprefix("  - ")
    return lines[0].removeprefix("error: ") if lines else ""


@pytest.fixture
def earlier_output(synth_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "cdktf.out"
    shutil.copytree(synth_dir, out)
    return out


def test_the_table_is_large_and_covers_every_area() -> None:
    areas = {case.area for case in CASES.values()}
    assert len(CASES) >= 60
    assert areas == {"config", "bootstrap", "template", "secret", "policy", "env", "filesystem"}
    assert sum(case.mode == "process" for case in CASES.values()) >= 20


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_input(name: str, tmp_path: Path, earlier_output: Path) -> None:
    case = CASES[name]
    project = make_project(tmp_path)
    case.edit(project)
    before = tree_digest(earlier_output)
    runner = run_process if case.mode == "process" else run_inprocess
    started = time.monotonic()
    result = runner(project, earlier_output, case.env, case.args)
    assert time.monotonic() - started < 60
    everything = result.stdout + result.stderr
    assert result.status == case.status, everything[-3000:]
    assert "Traceback" not in everything
    assert result.stderr.startswith("error: "), result.stderr[:500]
    problem = first_problem(result.stderr)
    assert problem.startswith(case.problem), result.stderr[:2000]
    assert case.detail in problem, result.stderr[:2000]
    assert max(len(line) for line in result.stderr.splitlines()) < 2600
    if case.secret:
        assert case.secret not in everything
        for path in earlier_output.rglob("*"):
            if path.is_file():
                assert case.secret not in path.read_text(errors="replace")
    assert tree_digest(earlier_output) == before
    if case.mode == "process":
        # No jsii kernel directory, staging or scratch directory is left behind.
        assert sorted(p.name for p in (tmp_path / "tmp").iterdir()) == []
        assert sorted(p.name for p in tmp_path.iterdir()) == ["cdktf.out", "project", "tmp"]


# --- the process itself: crashes, signals, the file system, the CLI --------------------------------


def test_references_and_dynamic_values_survive(synth_dir: Path) -> None:
    """What the interpolation check must let through: the references cdktf writes and the
    Databricks dynamic value references of the templates."""
    text = (synth_dir / "stacks" / "prod-workspace" / "cdk.tf.json").read_text()
    assert "{{job.trigger.time.iso_date}}" in text and "{{job.run_id}}" in text
    assert re.search(r'"\$\{databricks_job\.[A-Za-z0-9_-]+\.id\}"', text)
    assert re.search(r'"policy_id": "\$\{databricks_cluster_policy\.[A-Za-z0-9_-]+\.id\}"', text)


def test_internal_crash_exits_1_with_its_traceback(tmp_path: Path, earlier_output: Path) -> None:
    project = make_project(tmp_path)
    replace(
        "stacks/platform_stack.py",
        "        super().__init__(scope, config.name)\n",
        "        super().__init__(scope, config.name)\n        raise RuntimeError('a bug')\n",
    )(project)
    before = tree_digest(earlier_output)
    result = run_process(project, earlier_output, {})
    assert result.status == 1, result.stderr[-2000:]
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.rstrip().endswith("RuntimeError: a bug")
    assert tree_digest(earlier_output) == before
    assert sorted(p.name for p in (tmp_path / "tmp").iterdir()) == []


@pytest.mark.parametrize(
    ("broken", "status", "last_line"),
    [
        (
            replace(
                "stacks/platform_stack.py",
                "        super().__init__(scope, config.name)\n",
                "        super().__init__(scope, config.name)\n        raise RuntimeError('a bug')\n",
            ),
            1,
            "make: INTERNAL ERROR (main.py exit status 1), not a problem in your input: please report it with the traceback above",
        ),
        (
            dev("retention_in_days: 30", "retention_in_days: 3"),
            2,
            "make: stopped by the input problems above (main.py exit status 2)",
        ),
    ],
    ids=["crash", "input problem"],
)
def test_make_synth_tells_a_crash_from_an_input_problem(
    tmp_path: Path, synth_dir: Path, broken: Callable[[Path], None], status: int, last_line: str
) -> None:
    project = make_project(tmp_path)
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, project / name)
    (project / ".venv").symlink_to(ROOT / ".venv")
    shutil.copytree(synth_dir, project / "cdktf.out")  # an earlier, good output
    before = tree_digest(project / "cdktf.out")
    broken(project)
    proc = make_synth(project, tmp_path)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2  # GNU make's own status for any failed recipe
    assert lines[-2] == last_line
    assert lines[-1].endswith(f"synth] Error {status}")
    assert ("Traceback" in proc.stderr) is (status == 1)
    assert tree_digest(project / "cdktf.out") == before


def make_synth(project: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    """`make synth` in a copy of the project, with the installed .venv and the built wheel
    taken as they are (`-o`: never rebuilt from the copy)."""
    wheel = next((project / "ml_src" / "dist").glob("*.whl")).relative_to(project)
    return subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-o",
            ".venv/.synth-installed",
            "-o",
            str(wheel),
            *extra,
            "synth",
        ],
        cwd=project,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_make_synth_runs_the_app_once_and_lists_what_it_wrote(tmp_path: Path) -> None:
    """One pass: validation, synthesis and checks in one run of main.py (no `cdktf synth`,
    which would run the app again)."""
    project = make_project(tmp_path)
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, project / name)
    (project / ".venv").symlink_to(ROOT / ".venv")
    calls = tmp_path / "calls.log"
    wrapper = tmp_path / "python"
    wrapper.write_text(
        f'#!/bin/sh\necho "$*" >> {calls}\nexec {ROOT / ".venv" / "bin" / "python"} "$@"\n'
    )
    wrapper.chmod(0o755)
    proc = make_synth(project, tmp_path, f"PY={wrapper}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert calls.read_text().splitlines() == ["main.py"]
    assert "npx" not in proc.stdout and "cdktf synth" not in proc.stdout
    summary = proc.stdout[proc.stdout.index("wrote cdktf.out: ") :].splitlines()
    assert summary[0] == "wrote cdktf.out: 9 stacks, " + summary[0].split(", ")[1]
    stacks = [line.split()[0] for line in summary[1:10]]
    assert stacks == sorted(
        [
            "bootstrap",
            *(f"{e}{x}" for e in ("dev", "prod", "sandbox", "uat") for x in ("", "-workspace")),
        ]
    )
    assert all(line.split()[1].isdigit() and line.endswith(" resources") for line in summary[1:10])
    assert (project / ".make" / "synth.stamp").is_file()


def _kernel_processes(tmpdir: Path) -> list[int]:
    """Processes whose environment points TMPDIR into `tmpdir` (the app's node kernel)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if f"TMPDIR={tmpdir}".encode() in environ:
            found.append(int(entry.name))
    return found


def test_sigkill_mid_synthesis_leaves_nothing_after_the_next_run(
    tmp_path: Path, earlier_output: Path
) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    before = tree_digest(earlier_output)
    env = {
        **os.environ,
        "CDKTF_OUTDIR": str(earlier_output),
        "TMPDIR": str(tmpdir),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    app = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    staging = tmp_path / f".cdktf.out.staging-{app.pid}"
    deadline = time.monotonic() + 60
    while not (staging / "stacks").exists() and time.monotonic() < deadline:
        time.sleep(0.02)  # synthesis has started writing
    app.send_signal(signal.SIGKILL)
    assert app.wait(timeout=30) == -signal.SIGKILL
    assert tree_digest(earlier_output) == before  # a killed run never touches the output
    deadline = time.monotonic() + 30
    while _kernel_processes(tmpdir) and time.monotonic() < deadline:
        time.sleep(0.1)  # the orphaned kernel sees its stdin close and exits
    assert _kernel_processes(tmpdir) == []
    assert not list(tmpdir.glob("jsii-kernel-*"))  # never directly in TMPDIR
    # The next run (here: a failing one) sweeps what the killed run left.
    result = run_process(
        make_project(tmp_path), earlier_output, {}, ("--config-dir", "no-such-dir")
    )
    assert result.status == 2
    rerun = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert sorted(p.name for p in tmpdir.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdktf.out", "project", "tmp"]
    assert tree_digest(earlier_output) == before


def _dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(proc.stdout)


def test_symlinked_output_updated_in_place_leftovers_swept_suppressions_shown(
    tmp_path: Path, earlier_output: Path
) -> None:
    real = earlier_output
    (real / "stacks" / "gone").mkdir()  # a stack of an environment that was removed
    link = tmp_path / "link.out"
    link.symlink_to(real)
    dead = _dead_pid()
    for name in (
        f".cdktf.out.staging-{dead}",
        f".cdktf.out.staging-{dead}.part-1",
        f".cdktf.out.previous-{dead}",
    ):
        (tmp_path / name / "stacks").mkdir(parents=True)
    result = run_process(make_project(tmp_path), link, {"TMPDIR": str(tmp_path / "tmp")})
    assert result.status == 0, result.stderr[-2000:]
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert sorted(p.name for p in (real / "stacks").iterdir()) == sorted(
        [
            "bootstrap",
            *(f"{e}{x}" for e in ("dev", "prod", "sandbox", "uat") for x in ("", "-workspace")),
        ]
    )
    assert (real / ".mlops-cdktf-output").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdktf.out", "link.out", "project", "tmp"]
    assert (
        "note: MLOPS-NET-1 suppressed for sandbox/AzureMl/Workspace: Data scientists open the "
        "sandbox's Azure ML studio from their laptops"
    ) in result.stdout
    assert (
        "note: MLOPS-ST-3 suppressed for sandbox/AzureMl/Storage: Azure ML's system"
        in result.stdout
    )


def _in_namespace(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run a shell script as root of a new user and mount namespace (its mounts vanish with
    it); skip where this machine does not allow one."""
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("no user namespaces here (unshare -rm)")
    return subprocess.run(
        ["unshare", "-rm", "bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={
            **os.environ,
            "TMPDIR": str(tmp_path / "tmp"),
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        },
    )


@pytest.mark.parametrize(
    ("mount", "message"),
    [
        (
            "mount -t tmpfs -o size=8m tmpfs $FS && cp -r $EARLIER $FS/cdktf.out && mount -o remount,ro $FS",
            "error: 1 problem found:\n  - output directory {fs}/cdktf.out: cannot create the staging directory in {fs} (Read-only file system). Fix: the file system is read-only; set CDKTF_OUTDIR to a writable directory",
        ),
        (
            # Room for one output (about 0.9 MB: four wheel copies and the stacks), not two.
            "mount -t tmpfs -o size=1200k tmpfs $FS && cp -r $EARLIER $FS/cdktf.out",
            "error: output directory {fs}/cdktf.out: cannot write the synthesized files (ENOSPC: no space left on device). Fix: the disk is full; free some space and run again",
        ),
    ],
    ids=["read-only", "full disk"],
)
def test_file_system_faults_are_one_clear_line(
    tmp_path: Path, earlier_output: Path, mount: str, message: str
) -> None:
    fs = tmp_path / "fs"
    fs.mkdir()
    (tmp_path / "tmp").mkdir()
    script = (
        f"set -e; FS={fs}; EARLIER={earlier_output}; {mount}; "
        f"digest() {{ cd $FS/cdktf.out && find . -type f -exec sha256sum {{}} + | sort; }}; "
        f"before=$(digest); cd {ROOT}; set +e; "
        f"CDKTF_OUTDIR=$FS/cdktf.out {sys.executable} main.py > {tmp_path}/out 2> {tmp_path}/err; "
        f'echo $? > {tmp_path}/status; after=$(digest); [ "$before" = "$after" ] && echo same > {tmp_path}/digest; '
        f"ls -A $FS > {tmp_path}/left"
    )
    proc = _in_namespace(script, tmp_path)
    assert proc.returncode == 0, proc.stderr
    stderr = (tmp_path / "err").read_text()
    assert (tmp_path / "status").read_text().strip() == "2", stderr[-2000:]
    assert stderr.strip() == message.format(fs=fs)
    assert (tmp_path / "digest").read_text().strip() == "same"
    assert (tmp_path / "left").read_text().split() == ["cdktf.out"]
    assert sorted(p.name for p in (tmp_path / "tmp").iterdir()) == []


@pytest.fixture
def chattr(tmp_path: Path):
    """`chattr +i` on paths, undone after the test; skip where the file system refuses it."""
    marked: list[Path] = []

    def immutable(path: Path) -> None:
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False).returncode:
            pytest.skip("chattr +i is not supported here")
        marked.append(path)

    yield immutable
    for path in reversed(marked):
        subprocess.run(["chattr", "-i", str(path)], check=False)


def test_immutable_output_directory_is_one_clear_line(
    tmp_path: Path, earlier_output: Path, chattr
) -> None:
    before = tree_digest(earlier_output)
    chattr(earlier_output)
    result = run_process(make_project(tmp_path), earlier_output, {})
    assert result.status == 2, result.stderr[-2000:]
    assert result.stderr == (
        f"error: 1 problem found:\n  - output directory {earlier_output}: cannot replace "
        f"{earlier_output} (Operation not permitted). Fix: make the directory and its parent "
        "writable (an immutable file or directory, `chattr +i`, cannot be replaced: `chattr -i` "
        "it)\n"
    )
    assert tree_digest(earlier_output) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdktf.out", "project", "tmp"]


def test_an_undeletable_old_file_is_a_warning_and_swept_later(
    tmp_path: Path, earlier_output: Path, chattr
) -> None:
    stuck = earlier_output / "stacks" / "dev" / "plan"
    stuck.write_text("a plan file")
    chattr(stuck)
    project = make_project(tmp_path)
    result = run_process(project, earlier_output, {})
    assert result.status == 0, result.stderr[-2000:]
    (leftover,) = tmp_path.glob(".cdktf.out.previous-*")
    assert (
        f"warning: could not remove {leftover}/stacks/dev/plan (Operation not permitted); remove it by hand"
        in result.stderr
    )
    assert (earlier_output / ".mlops-cdktf-output").is_file()  # published all the same
    subprocess.run(["chattr", "-i", str(leftover / "stacks" / "dev" / "plan")], check=True)
    # The next run's staging step (what main.py runs before synthesis) removes it.
    with StagedOutput(earlier_output).stage():
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdktf.out", "project", "tmp"]


@pytest.mark.cli
def test_cdktf_cli_synth_after_an_environment_is_removed(
    tmp_path: Path, earlier_output: Path
) -> None:
    """The CLI deletes the stack directories it saw before the run that the new manifest lacks
    (and failed when the app had already replaced the output)."""
    project = make_project(tmp_path)
    (project / "node_modules").symlink_to(ROOT / "node_modules")
    (project / ".venv").symlink_to(ROOT / ".venv")
    (project / "config" / "uat.yaml").unlink()
    replace(
        "config/shared/bootstrap.yaml",
        "location: westeurope\n",
        "location: westeurope\nenvironments: [sandbox, dev, prod]\n",
    )(project)
    proc = subprocess.run(
        ["npx", "--no-install", "cdktf", "synth", "--output", str(earlier_output)],
        cwd=project,
        env={
            **os.environ,
            "CHECKPOINT_DISABLE": "1",
            "TMPDIR": str(tmp_path),
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert sorted(p.name for p in (earlier_output / "stacks").iterdir()) == sorted(
        ["bootstrap", *(f"{e}{x}" for e in ("dev", "prod", "sandbox") for x in ("", "-workspace"))]
    )
