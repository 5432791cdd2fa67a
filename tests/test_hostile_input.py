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
        dev("  ml:\n", "  ml:\n    psi_threshold: .nan\n"),
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
        dev("  ml:\n", "  ml:\n    experiment_name: ../../Users/someone/x\n"),
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
    # Values Azure, Databricks or a provider would reject at plan, apply or the first run
    "a runtime version that is no version key": Case(
        "service",
        dev("databricks:\n", "databricks:\n  spark_version: 15.4 LTS ML\n"),
        "config/dev.yaml: databricks.spark_version: '15.4 LTS ML' is not a Databricks Runtime version key",
        mode="process",
    ),
    "a node type outside the cluster policy's allowlist": Case(
        "service",
        dev("databricks:\n", "databricks:\n  node_type_id: Standard_E64s_v5\n"),
        "config/dev.yaml: databricks: node_type_id 'Standard_E64s_v5' is not in allowed_node_type_ids",
    ),
    "a Unix cron expression for a job": Case(
        "service",
        dev(
            "databricks:\n",
            "databricks:\n  jobs:\n    ml_pipeline: {template: ml_pipeline.yaml.j2, schedule: {quartz_cron_expression: '0 2 * * 1 '}}\n",
        ),
        "config/dev.yaml: databricks.jobs.ml_pipeline.schedule.quartz_cron_expression: '0 2 * * 1 ' has 5 fields; a Quartz cron expression has 6 or 7",
    ),
    "a Quartz expression with both day fields": Case(
        "service",
        dev(
            "databricks:\n",
            "databricks:\n  jobs:\n    ml_pipeline: {template: ml_pipeline.yaml.j2, schedule: {quartz_cron_expression: '0 0 2 1 * MON'}}\n",
        ),
        "config/dev.yaml: databricks.jobs.ml_pipeline.schedule.quartz_cron_expression: '0 0 2 1 * MON': exactly one of day-of-month (1) and day-of-week (MON) must be '?'",
    ),
    "a misspelt schedule time zone": Case(
        "service",
        dev(
            "databricks:\n",
            "databricks:\n  jobs:\n    ml_pipeline: {template: ml_pipeline.yaml.j2, schedule: {quartz_cron_expression: '0 0 2 ? * MON', timezone_id: Europe/Amsterdm}}\n",
        ),
        "config/dev.yaml: databricks.jobs.ml_pipeline.schedule.timezone_id: 'Europe/Amsterdm' is not a Java time-zone ID",
    ),
    "a monitor granularity the API refuses": Case(
        "service",
        dev("  ml:\n", "  ml:\n    quality_monitor: {granularities: [1 days]}\n"),
        "config/dev.yaml: databricks.ml.quality_monitor.granularities: ['1 days'] is not a granularity Lakehouse Monitoring accepts",
    ),
    "an instance pool whose idle minimum exceeds its capacity": Case(
        "service",
        dev(
            "databricks:\n",
            "databricks:\n  instance_pool: {enabled: true, min_idle_instances: 11, max_capacity: 10}\n",
        ),
        "config/dev.yaml: databricks.instance_pool: min_idle_instances (11) exceeds max_capacity (10)",
    ),
    "201 storage firewall IP rules": Case(
        "service",
        dev(
            "  account_replication_type: LRS\n",
            "  account_replication_type: LRS\n  allowed_ip_ranges: ["
            + ", ".join(f"20.0.{i // 256}.{i % 256}" for i in range(201))
            + "]\n",
        ),
        "config/dev.yaml: storage.allowed_ip_ranges: 201 IP rules; Azure Storage takes at most 200",
        mode="process",
    ),
    "a private range in the Key Vault firewall": Case(
        "service",
        dev(
            "  purge_protection_enabled: false\n",
            "  purge_protection_enabled: false\n  allowed_ip_ranges: [172.20.0.0/16]\n",
        ),
        "config/dev.yaml: key_vault.allowed_ip_ranges: 172.20.0.0/16 is a private (RFC 1918) range",
    ),
    # Names that must be unique beyond one environment
    "a storage account name reached through another prefix": Case(
        "uniqueness",
        both(
            lambda p: shutil.copy(p / "config" / "dev.yaml", p / "config" / "adlsxy.yaml"),
            lambda p: shutil.copy(p / "config" / "dev.yaml", p / "config" / "xy.yaml"),
            append("config/adlsxy.yaml", "naming: {prefix: ab, suffix: abcd}\n"),
            append("config/xy.yaml", "naming: {prefix: abadls, suffix: abcd}\n"),
        ),
        "config/xy.yaml: naming.prefix/naming.suffix: the storage account (global) name 'abadlsadlsxyabcd' is also environment 'adlsxy'",
        mode="process",
    ),
    "two environments share a catalog": Case(
        "uniqueness",
        replace(
            "config/uat.yaml",
            "databricks:\n",
            "databricks:\n  unity_catalog: {catalog_name: mlops_dev}\n",
        ),
        "config/uat.yaml: databricks.unity_catalog.catalog_name: the Unity Catalog catalog (metastore) name 'mlops_dev' is also environment 'dev'",
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
    # Templates: the render budget (time, steps, output, value sizes), enforced while rendering
    "template nests loops without end": Case(
        "template",
        in_template(
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
        ),
        "templates/jobs/batch_inference.yaml.j2: environment dev: exceeded the render budget: more than 100,000 loop iterations and calls",
        mode="process",
    ),
    "template doubles a string with ~ in a recursive macro": Case(
        "template",
        in_template(
            "{% macro d(s, n) %}{{ d(s ~ s, n - 1) if n else s | length }}{% endmacro %}"
            "x: {{ d('x', 40) }}"
        ),
        "templates/jobs/batch_inference.yaml.j2: environment dev: exceeded the render budget: `~` concatenation would be about 2,097,152 characters",
    ),
    "template formats with a gigabyte width": Case(
        "template",
        in_template("x: {{ '%0999999999d' % 1 }}"),
        "templates/jobs/batch_inference.yaml.j2: environment dev: exceeded the render budget: `%` formatting: a width or precision of '999999999'",
    ),
    "template centers a value to a gigabyte": Case(
        "template",
        in_template("x: {{ job_parameters | string | center(1000000000) }}"),
        "templates/jobs/batch_inference.yaml.j2: environment dev: exceeded the render budget: the center filter's result would be about 1,000,000,000 characters",
        mode="process",
    ),
    "template indents by a huge width": Case(
        "template",
        in_template("x: {{ ('a\n' * 50000) | indent(100000) }}"),
        "templates/jobs/batch_inference.yaml.j2: environment dev: exceeded the render budget: the indent filter's result would be about",
    ),
    "template repeats static text in a macro's loop": Case(
        "template",
        in_template(
            "{% macro m() %}{% for i in range(100000) %}"
            + "y" * 1000
            + "{% endfor %}{% endmacro %}"
            "x: {{ m() | length }}"
        ),
        "templates/jobs/batch_inference.yaml.j2: environment dev: exceeded the render budget: output more than 4,194,304 characters",
    ),
    "template joins a huge generated list": Case(
        "template",
        in_template("x: {{ range(100000) | map('center', 100000) | join }}"),
        "templates/jobs/batch_inference.yaml.j2: environment dev: exceeded the render budget: the join filter's input would be about",
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
        "templates/jobs/batch_inference.yaml.j2: environment dev: exceeded the render budget: more than 100 includes and imports (does a template include itself?)",
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
    "TF_STATE_RESOURCE_GROUP set alone": Case(
        "env",
        nothing,
        "environment variable TF_STATE_STORAGE_ACCOUNT: is not set, but TF_STATE_RESOURCE_GROUP is: the remote state needs both",
        env={"TF_STATE_RESOURCE_GROUP": "mlops-tfstate-rg"},
        mode="process",
    ),
    "TF_STATE_RESOURCE_GROUP set alone and empty": Case(
        "env",
        nothing,
        "environment variable TF_STATE_RESOURCE_GROUP: is set but empty",
        env={"TF_STATE_RESOURCE_GROUP": ""},
    ),
    "example values refused with a truthy spelling": Case(
        "env",
        nothing,
        "config/dev.yaml: databricks.azure_databricks_principal_object_id: is the example all-zero object ID",
        env={"MLOPS_REFUSE_EXAMPLE_VALUES": " TRUE "},
        mode="process",
    ),
    "an unknown spelling of the example-value switch": Case(
        "env",
        nothing,
        "environment variable MLOPS_REFUSE_EXAMPLE_VALUES: got 'ja': not a yes/no value",
        env={"MLOPS_REFUSE_EXAMPLE_VALUES": "ja"},
        mode="process",
    ),
    "the internal worker pointed at the output": Case(
        "env",
        nothing,
        "main.py --worker: is internal to a synthesis and writes only into a fresh part of its parent's staging directory",
        args=("--worker", "dev"),
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
    "a config file that is a symbolic link loop": Case(
        "filesystem",
        lambda p: (p / "config" / "qa.yaml").symlink_to("qa.yaml"),
        "config/qa.yaml: cannot read the file (a symbolic link loop)",
        mode="process",
    ),
    "the config directory is a symbolic link loop": Case(
        "filesystem",
        lambda p: (p / "loop").symlink_to("loop"),
        "loop: config directory is a broken symbolic link or a link loop",
        env={"MLOPS_CONFIG_DIR": "loop"},
        mode="process",
    ),
    "a config file with an upper-case extension (was skipped)": Case(
        "filesystem",
        lambda p: shutil.copy(p / "config" / "dev.yaml", p / "config" / "qa.YAML"),
        "config/qa.YAML: environment files must end in .yaml (lower case), not .YAML",
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
    # The Makefile: a variable a target takes never reaches a shell unchecked (`make` mode: the
    # recipes' commands are fakes that record any run; nothing may run at all)
    "make plan with shell syntax in ENV": Case(
        "make",
        nothing,
        "ENV='dev; touch PWNED' has characters other than lowercase letters and digits",
        mode="make",
        args=("plan", "ENV=dev; touch PWNED"),
    ),
    "make deploy with a make function in ENV": Case(
        "make",
        nothing,
        "ENV='$(shell touch PWNED)' has characters other than lowercase letters",
        mode="make",
        args=("deploy", "ENV=$(shell touch PWNED)"),
    ),
    "make render with a path into config/shared": Case(
        "make",
        nothing,
        "ENV='shared/bootstrap' has characters other than lowercase letters and digits",
        mode="make",
        args=("render", "ENV=shared/bootstrap"),
    ),
    "make plan with .. in ENV": Case(
        "make",
        nothing,
        "ENV='../config/dev' has characters other than lowercase letters and digits",
        mode="make",
        args=("plan", "ENV=../config/dev"),
    ),
    "make deploy with a line break in ENV": Case(
        "make",
        nothing,
        "ENV='dev\\ntouch PWNED' has characters other than lowercase letters",
        mode="make",
        args=("deploy", "ENV=dev\ntouch PWNED"),
    ),
    "make render with command substitution in ENV from the environment": Case(
        "make",
        nothing,
        "ENV='$(touch PWNED)' has characters other than lowercase letters and digits",
        mode="make",
        env={"ENV": "$(touch PWNED)"},
        args=("render",),
    ),
    "make plan of an environment without a file": Case(
        "make",
        nothing,
        "ENV=qa: config/qa.yaml not found. Fix: ENV names an environment file; these exist: dev prod sandbox uat",
        mode="make",
        args=("plan", "ENV=qa"),
    ),
    "make deploy without ENV": Case(
        "make",
        nothing,
        "ENV is not set. Fix: name the environment, e.g. make deploy ENV=dev",
        mode="make",
        args=("deploy",),
    ),
    # The tools the workflows run (`tool` mode: in this process, one line on stderr, exit 2,
    # nothing started and no output written; `{project}` is the project copy)
    "plan summary of deeply nested JSON": Case(
        "tool",
        write("plan.json", '{"format_version": "1.2", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        "plan file ",
        detail="is nested too deeply (more than 128 levels)",
        mode="tool",
        args=("tools.plan_summary", "{project}/plan.json", "--output", "{project}/out.md"),
    ),
    "plan summary of a 5,000-digit number": Case(
        "tool",
        write(
            "plan.json",
            '{"format_version": "1.2", "resource_changes": [], "x": ' + "9" * 5000 + "}",
        ),
        "plan file ",
        detail="is not usable JSON: Exceeds the limit (4300 digits)",
        mode="tool",
        args=("tools.plan_summary", "{project}/plan.json", "--output", "{project}/out.md"),
    ),
    "plan summary of NaN": Case(
        "tool",
        write("plan.json", '{"format_version": "1.2", "resource_changes": [], "x": NaN}'),
        "plan file ",
        detail="is not usable JSON: NaN is not a JSON number",
        mode="tool",
        args=("tools.plan_summary", "{project}/plan.json", "--status-json", "{project}/s.json"),
    ),
    "plan summary of a plan that is not UTF-8": Case(
        "tool",
        write("plan.json", b'{"format_version": "1.2", "x": "caf\xe9"}'),
        "plan file ",
        detail="is not valid UTF-8 (byte 36, line 1)",
        mode="tool",
        args=("tools.plan_summary", "{project}/plan.json", "--output", "{project}/out.md"),
    ),
    "plan summary with an alias bomb as its config": Case(
        "tool",
        write(
            "c.yaml", "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
        ),
        "config ",
        detail="anchors and aliases are not supported here",
        mode="tool",
        args=(
            "tools.plan_summary",
            str(ROOT / "tests" / "cicd" / "fixtures" / "noop.json"),
            "--config",
            "{project}/c.yaml",
            "--output",
            "{project}/out.md",
        ),
    ),
    "plan summary with a --max-chars that is not a number": Case(
        "tool",
        nothing,
        "argument --max-chars: invalid int value: 'lots'",
        mode="tool",
        args=("tools.plan_summary", "{project}/plan.json", "--max-chars", "lots"),
    ),
    "plan report of a result file that is not UTF-8": Case(
        "tool",
        write("plans/dev/result", b"ok\xff\n"),
        "result file ",
        detail="is not valid UTF-8 (byte 3, line 1)",
        mode="tool",
        args=(
            "tools.plan_summary.report",
            "{project}/plans/dev",
            "--stack",
            "dev",
            "--output",
            "{project}/out.md",
        ),
    ),
    "plan report of a plan file that is a FIFO (hung the report)": Case(
        "tool",
        both(write("plans/dev/result", "ok\n"), fifo("plans/dev/plan.json")),
        "plan file ",
        detail="is not a regular file (a FIFO, socket or device)",
        mode="tool",
        args=(
            "tools.plan_summary.report",
            "{project}/plans/dev",
            "--stack",
            "dev",
            "--output",
            "{project}/out.md",
        ),
    ),
    "plan report into a directory that does not exist": Case(
        "tool",
        nothing,
        "cannot write status file ",
        detail="its directory does not exist",
        mode="tool",
        args=(
            "tools.plan_summary.report",
            "{project}/never-ran",
            "--stack",
            "dev",
            "--output",
            "{project}/out.md",
            "--status-json",
            "{project}/missing/status.json",
        ),
    ),
    "release route of a tag ref with trailing whitespace": Case(
        "tool",
        nothing,
        "--ref 'refs/tags/v1.0.0 ' is not a well-formed Git ref",
        mode="tool",
        args=("tools.release_guard", "route", "--event", "push", "--ref", "refs/tags/v1.0.0 "),
    ),
    "release route of a tag ref with a line break": Case(
        "tool",
        nothing,
        "--ref 'refs/tags/v1.0.0\\n' is not a well-formed Git ref",
        mode="tool",
        args=("tools.release_guard", "route", "--event", "push", "--ref", "refs/tags/v1.0.0\n"),
    ),
    "release tag check in a directory that does not exist": Case(
        "tool",
        nothing,
        "--repo ",
        detail="not a directory (the checked-out repository)",
        mode="tool",
        args=("tools.release_guard", "check-tag", "v1.0.0", "--repo", "{project}/no-such-clone"),
    ),
    "job run with a zero poll interval": Case(
        "tool",
        nothing,
        "argument --poll-seconds: 0 is out of range: must be at least 1 and at most 600 seconds",
        mode="tool",
        args=(
            "tools.run_job",
            "--host",
            "adb-1.2.azuredatabricks.net",
            "--job-id",
            "7",
            "--poll-seconds",
            "0",
        ),
    ),
    "job run with a negative poll interval": Case(
        "tool",
        nothing,
        "argument --poll-seconds: -5 is out of range",
        mode="tool",
        args=(
            "tools.run_job",
            "--host",
            "adb-1.2.azuredatabricks.net",
            "--job-id",
            "7",
            "--poll-seconds",
            "-5",
        ),
    ),
    "job run with a job ID that is not an integer": Case(
        "tool",
        nothing,
        "argument --job-id: '1_000' is not a positive integer ID",
        mode="tool",
        args=("tools.run_job", "--host", "adb-1.2.azuredatabricks.net", "--job-id", "1_000"),
    ),
    "job run with a fractional job ID in the outputs": Case(
        "tool",
        write(
            "out.json",
            '{"workspace_url": {"value": "adb-1.2.azuredatabricks.net"}, "ml_pipeline_job_id": {"value": 12.5}}',
        ),
        "ml_pipeline_job_id 12.5 is not a positive integer",
        mode="tool",
        args=("tools.run_job", "--outputs-file", "{project}/out.json"),
    ),
    "job run against a URL with a path and query": Case(
        "tool",
        nothing,
        "workspace URL 'https://adb-1.2.azuredatabricks.net/login?next=x' is not an https URL of a host",
        mode="tool",
        args=(
            "tools.run_job",
            "--host",
            "https://adb-1.2.azuredatabricks.net/login?next=x",
            "--job-id",
            "7",
        ),
    ),
    "security scan with a wildcard skip reaching prod": Case(
        "tool",
        write(
            "skips.yaml",
            "skips:\n  - check: CKV_AZURE_42\n    stacks: ['*']\n    types: [azurerm_key_vault]\n"
            "    reason: vaults are torn down and recreated in the sandbox\n",
        ),
        "skips.yaml: skips[1] (CKV_AZURE_42): stacks ['*'] cover the protected stacks prod, prod-workspace, uat, uat-workspace without naming them",
        mode="tool",
        args=(
            "tools.security_scan",
            "--skips",
            "{project}/skips.yaml",
            "--config-dir",
            "{project}/config",
            "--outdir",
            "{project}/cdktf.out",
        ),
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
    from constructs_lib.config import ConfigError, load_environments, remote_state_from_environ
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
        configs = remote_state_from_environ(configs, env)
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


SENTINEL = "PWNED"
"""What a hostile value's shell code would create; also what the fake tools record."""


def fake_tools(tmp_path: Path) -> Path:
    """A bin directory whose npx, python and python3 only record that they were run."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir(exist_ok=True)
    for name in ("npx", "python", "python3", "node", "npm"):
        tool = bin_dir / name
        tool.write_text(f'#!/bin/sh\necho "{name} $*" >> {tmp_path / "ran.log"}\n')
        tool.chmod(0o755)
    return bin_dir


def run_make(
    project: Path, outdir: Path, env: dict[str, str], args: tuple[str, ...] = ()
) -> Result:
    """`make ARGS` in the project copy, with fake tools (and `PY`) that record any run. The
    result's stderr is make's error line without make's `Makefile:N: *** ` and `.  Stop.`."""
    for name in ("Makefile", "pyproject.toml", "package.json", "package-lock.json"):
        shutil.copy(ROOT / name, project / name)
    tmp_path = project.parent
    bin_dir = fake_tools(tmp_path)
    proc = subprocess.run(
        [
            "make",
            "--no-print-directory",
            f"PYTHON={bin_dir / 'python3'}",
            f"PY={bin_dir / 'python'}",
            *args,
        ],
        cwd=project,
        env={
            **os.environ,
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "TMPDIR": str(tmp_path),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Nothing ran: no recipe, no tool, no shell code of the value, no state written.
    assert not (tmp_path / "ran.log").exists(), (tmp_path / "ran.log").read_text()
    assert not list(tmp_path.rglob(SENTINEL)), "the value's shell code ran"
    assert not (project / ".make").exists() and not (project / ".venv").exists()
    stderr = re.sub(r"^Makefile:\d+: \*\*\* ", "", proc.stderr)
    stderr = re.sub(r"\.  Stop\.\n?$", "\n", stderr)
    return Result(proc.returncode, proc.stdout, stderr)


TOOL_PREFIXES = (
    "plan_summary: error: ",
    "plan_summary.report: error: ",
    "release_guard: error: ",
    "run_job: error: ",
    "security_scan: ",
    "python -m tools.plan_summary: error: ",
    "python -m tools.plan_summary.report: error: ",
    "python -m tools.release_guard: error: ",
    "python -m tools.run_job: error: ",
)
OUTPUT_OPTIONS = ("--output", "--status-json", "--redacted-json")


def run_tool(
    project: Path, outdir: Path, env: dict[str, str], args: tuple[str, ...] = ()
) -> Result:
    """A tool's entry point in this process (`args[0]` its module). Asserts that its stderr
    is one line with the tool's prefix (returned as `error: ...`), that no output file was
    written, and that no job run was started."""
    import contextlib
    import importlib
    import io

    module_name, *rest = args
    argv = [a.replace("{project}", str(project)) for a in rest]
    module = importlib.import_module(module_name)
    started: list[tuple[str, str]] = []
    entry = {
        "tools.plan_summary": lambda: importlib.import_module("tools.plan_summary.cli").run(argv),
        "tools.plan_summary.report": lambda: module.run(argv),
        "tools.release_guard": lambda: module.main(argv),
        "tools.run_job": lambda: module.main(argv, client_factory=lambda *a: started.append(a)),
        "tools.security_scan": lambda: module.main(argv),
    }[module_name]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = entry()
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else 1
    assert started == [], "a job run was started"
    for option, value in zip(argv, argv[1:], strict=False):
        if option in OUTPUT_OPTIONS:
            if module_name == "tools.plan_summary.report" and option == "--output":
                # The one output an unusable input may produce: the comment that says the
                # summary failed (replacing a stale one on the pull request), never a summary.
                written = Path(value).read_text(encoding="utf-8") if Path(value).exists() else ""
                assert not written or "**Summary failed:**" in written, written[:300]
                assert "| " not in written, "a summary was written"
                continue
            assert not Path(value).exists(), f"{option} {value} was written"
    lines = err.getvalue().splitlines()
    assert len(lines) == 1, err.getvalue()
    prefix = next((p for p in TOOL_PREFIXES if lines[0].startswith(p)), None)
    assert prefix is not None, lines[0]
    return Result(status, out.getvalue(), f"error: {lines[0].removeprefix(prefix)}\n")


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
    assert areas == {
        "config",
        "bootstrap",
        "template",
        "secret",
        "policy",
        "env",
        "filesystem",
        "make",
        "tool",
        "service",
        "uniqueness",
    }
    assert sum(case.mode == "process" for case in CASES.values()) >= 20


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_input(name: str, tmp_path: Path, earlier_output: Path) -> None:
    case = CASES[name]
    project = make_project(tmp_path)
    case.edit(project)
    before = tree_digest(earlier_output)
    runner = {
        "process": run_process,
        "inprocess": run_inprocess,
        "make": run_make,
        "tool": run_tool,
    }[case.mode]
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


ENV_TARGETS = ("plan", "deploy", "render")
"""Every Makefile target that takes ENV."""
HOSTILE_ENV_VALUES = {
    "shell separator": ("dev; touch PWNED", "has characters other than lowercase letters"),
    "make function": ("$(shell touch PWNED)", "has characters other than lowercase letters"),
    "escaped make reference": ("$$(touch PWNED)", "has characters other than lowercase letters"),
    "command substitution": ("`touch PWNED`", "has characters other than lowercase letters"),
    "line break": ("dev\ntouch PWNED", "has characters other than lowercase letters"),
    "relative path": ("../config/dev", "has characters other than lowercase letters"),
    "path to another config": ("shared/bootstrap", "has characters other than lowercase letters"),
    "absolute path": ("/etc/passwd", "has characters other than lowercase letters"),
    "option": ("-rf", "has characters other than lowercase letters"),
    "pattern": ("%", "has characters other than lowercase letters"),
    "upper case": ("DEV", "has characters other than lowercase letters"),
    "leading digit": ("1dev", "does not start with a letter"),
    "too short": ("d", "is not 2-10 characters long"),
    "too long": ("abcdefghijk", "is not 2-10 characters long"),
    "no such file": ("qa", "config/qa.yaml not found"),
    "reserved name": ("bootstrap", "config/bootstrap.yaml not found"),
}


@pytest.mark.parametrize("target", ENV_TARGETS)
@pytest.mark.parametrize("value", list(HOSTILE_ENV_VALUES))
@pytest.mark.parametrize("origin", ["command line", "environment"])
def test_make_refuses_a_hostile_env_before_any_recipe(
    tmp_path: Path, target: str, value: str, origin: str
) -> None:
    text, problem = HOSTILE_ENV_VALUES[value]
    project = tmp_path / "project"  # what the Makefile reads while it is parsed
    shutil.copytree(ROOT / "config", project / "config")
    (project / "ml_src").mkdir()
    shutil.copy(ROOT / "ml_src" / "pyproject.toml", project / "ml_src" / "pyproject.toml")
    if origin == "command line":
        result = run_make(project, tmp_path, {}, (target, f"ENV={text}"))
    else:
        result = run_make(project, tmp_path, {"ENV": text}, (target,))
    assert result.status == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()  # one line, also for a value with a line break
    assert line.startswith("error: ENV=") and problem in line and "Fix: " in line, line


def test_make_quotes_a_valid_env_and_ignores_an_unused_one(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, project / name)
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", "-o", ".venv/.synth-installed", "render", "ENV=uat"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert dry.returncode == 0, dry.stderr
    assert "-m tools.render 'uat' --config-dir" in dry.stdout
    # A shell's ENV variable (POSIX sh's start-up file) does not stop targets that take no ENV.
    helped = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=project,
        env={**os.environ, "ENV": "/home/someone/.shinit"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert helped.returncode == 0 and "make plan" in helped.stdout


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("cdktn", True),
        ("cdktf", True),
        ("cdk", False),
        ("cdktf;id", False),
        ("%", False),
        ("$(shell id)", False),
    ],
)
def test_the_choice_arg_hook_for_other_switches(tmp_path: Path, value: str, ok: bool) -> None:
    """`$(call choice_arg,NAME,values)` is how the Makefile checks any other switch a target
    takes (e.g. an engine switch) before a recipe runs."""
    project = make_project(tmp_path)
    shutil.copy(ROOT / "Makefile", project / "Makefile")
    (project / "switch.mk").write_text("include Makefile\n$(call choice_arg,CDK,cdktf cdktn)\n")
    proc = subprocess.run(
        ["make", "--no-print-directory", "-f", "switch.mk", "help", f"CDK={value}"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (proc.returncode == 0) is ok, proc.stderr
    if not ok:
        assert f"*** error: CDK='{value}' is not one of: cdktf cdktn." in proc.stderr


def test_two_make_synth_at_once_in_one_clone_both_succeed(tmp_path: Path, synth_dir: Path) -> None:
    """They used to share a temporary file (`.make/synth-env.new`), and the wheel was removed
    and rebuilt in place. Now the stamp is renamed into place and the wheel built aside, under a
    lock; both runs rebuild the wheel here (a source changed) and synthesize."""
    project = make_project(tmp_path)
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(
        ROOT / "ml_src" / "src",
        project / "ml_src" / "src",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy(ROOT / "ml_src" / "README.md", project / "ml_src" / "README.md")
    (project / ".venv").symlink_to(ROOT / ".venv")
    wheel = next((project / "ml_src" / "dist").glob("*.whl"))
    wheel_digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (project / "ml_src" / "src" / "taxi_fare_mlops" / "__init__.py").touch()
    env = {
        **os.environ,
        "TMPDIR": str(tmp_path),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    command = ["make", "--no-print-directory", "-o", ".venv/.synth-installed", "synth"]
    runs = [
        subprocess.Popen(
            command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=600) for run in runs]
    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err[-3000:]
        assert "wrote cdktf.out: 9 stacks" in out
    assert [p.name for p in (project / "ml_src" / "dist").iterdir()] == [wheel.name]
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() == wheel_digest  # reproducible
    assert sorted(
        p.name for p in (project / ".make").iterdir() if not p.name.endswith(".lock")
    ) == [
        "synth-env",
        "synth.stamp",
    ]
    # The stamp step alone, many at once (the race was narrow): none fails.
    for _ in range(5):
        stamps = [
            subprocess.Popen(
                ["make", "--no-print-directory", ".make/synth-env"],
                cwd=project,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        for stamp in stamps:
            assert stamp.wait(timeout=60) == 0, stamp.stderr.read() if stamp.stderr else ""
    assert sorted(
        p.name for p in (project / ".make").iterdir() if not p.name.endswith(".lock")
    ) == [
        "synth-env",
        "synth.stamp",
    ]


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


def test_a_full_temporary_directory_is_one_clear_line(tmp_path: Path, earlier_output: Path) -> None:
    """A full TMPDIR is named as such (it used to be replaced silently by another directory,
    or to surface as a fault of the output directory); nothing is left in it."""
    full = tmp_path / "fulltmp"
    full.mkdir()
    (tmp_path / "tmp").mkdir()
    before = tree_digest(earlier_output)
    script = (
        f"set -e; mount -t tmpfs -o size=64k tmpfs {full}; "
        f"dd if=/dev/zero of={full}/fill bs=4k count=64 2>/dev/null || true; "
        f"cd {ROOT}; set +e; TMPDIR={full} CDKTF_OUTDIR={earlier_output} {sys.executable} main.py "
        f"> {tmp_path}/out 2> {tmp_path}/err; echo $? > {tmp_path}/status; ls -A {full} > {tmp_path}/left"
    )
    proc = _in_namespace(script, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "status").read_text().strip() == "2"
    assert (tmp_path / "err").read_text() == (
        f"error: temporary directory {full}: cannot create this run's directory in it (ENOSPC: "
        "No space left on device). Fix: the file system is full; free some space, or set TMPDIR "
        "to a directory with space\n"
    )
    assert (tmp_path / "left").read_text().split() == ["fill"]
    assert tree_digest(earlier_output) == before


def test_the_worker_entry_point_refuses_unknown_environments(
    tmp_path: Path, earlier_output: Path
) -> None:
    """`main.py --worker` writes only into a fresh part of its parent's staging directory (here
    this test is the parent), and only environments that exist."""
    part = tmp_path / f".cdktf.out.staging-{os.getpid()}.part-1"
    env = {
        **os.environ,
        "CDKTF_OUTDIR": str(part),
        "TMPDIR": str(tmp_path),
        "MLOPS_SYNTH_WORKERS": "1",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    for names in ("nope", "dev,../prod", "dev,dev"):
        proc = subprocess.run(
            [sys.executable, str(ROOT / "main.py"), "--worker", names],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 2 and proc.stdout == ""
        assert proc.stderr.splitlines()[1] == (
            f"  - main.py --worker: got {names!r}: not a list of distinct environments of dev, "
            "prod, sandbox, uat. Fix: run `python main.py`; it starts its workers itself"
        )
        assert "Traceback" not in proc.stderr and not part.exists()
    ok = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--worker", "dev"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert ok.stdout.splitlines()[-1] == '{"problems": []}'
    assert sorted(p.name for p in (part / "stacks").iterdir()) == ["dev", "dev-workspace"]


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
