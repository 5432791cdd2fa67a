"""Composition root: load every environment's config, build one stack per environment, synth.

`cdktf synth` runs this file (see cdktf.json). `python main.py --check` only validates the
configs (and everything else synth reads) and writes nothing. A mistake in a user's input exits
with status 2 and one line per problem; the previous `cdktf.out` is left untouched because
everything is validated before the first byte is written. This is the only module that reads
`os.environ`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent
EXIT_USER_ERROR = 2
DEFAULT_STATE_RESOURCE_GROUP = "mlops-tfstate-rg"
"""Resource group of the bootstrap stack's state account (`TF_STATE_RESOURCE_GROUP` overrides)."""

# jsii prints a banner on every run about Node 20's end of life; it is noise for our users.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=Path(os.environ.get("MLOPS_CONFIG_DIR", ROOT / "config")),
        help="directory of <env>.yaml files (default: config/, or $MLOPS_CONFIG_DIR)",
    )
    parser.add_argument("--check", action="store_true", help="validate inputs only; write nothing")
    return parser.parse_args(argv)


def build_app(configs, wheel, outdir: str | None = None, bootstrap=None):
    """The app with one stack per environment (and the bootstrap stack), not yet synthesized.
    Raises `ConfigError` (e.g. a template problem) before anything is written."""
    from constructs_lib.cdk import App
    from stacks.bootstrap_stack import BootstrapStack
    from stacks.environment_stack import EnvironmentStack

    app = App(outdir=outdir) if outdir else App()
    for config in configs:
        EnvironmentStack(app, config, wheel)
    if bootstrap is not None:
        by_name = {c.name: c for c in configs}
        BootstrapStack(app, bootstrap, [by_name[name] for name in bootstrap.environments])
    return app


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    from constructs_lib.config import ConfigError, load_environments, with_remote_state
    from constructs_lib.config.bootstrap import load_bootstrap_for
    from constructs_lib.wheel_artifact import locate_wheel

    with tempfile.TemporaryDirectory(prefix="mlops-check-") as scratch:
        # The App creates its outdir on construction: a check builds into a scratch directory.
        outdir = scratch if args.check else os.environ.get("CDKTF_OUTDIR")
        try:
            configs = load_environments(args.config_dir, root=ROOT)
            state_account = os.environ.get("TF_STATE_STORAGE_ACCOUNT")
            if state_account:
                configs = with_remote_state(
                    configs,
                    storage_account_name=state_account,
                    resource_group_name=os.environ.get(
                        "TF_STATE_RESOURCE_GROUP", DEFAULT_STATE_RESOURCE_GROUP
                    ),
                )
            bootstrap = load_bootstrap_for(
                configs, args.config_dir / "shared" / "bootstrap.yaml", root=ROOT
            )
            wheel = locate_wheel(ROOT / "ml_src", root=ROOT)
            app = build_app(configs, wheel, outdir, bootstrap)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USER_ERROR
        if args.check:
            print(f"ok: {len(configs)} environment(s): {', '.join(c.name for c in configs)}")
            return 0
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
