"""`python -m tools.engine_diff CDKTF_OUT CDKTN_OUT`: see tools/engine_diff/__init__.py."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.engine_diff import (
    DIFFERENCES_FILE,
    UsageError,
    compare,
    format_report,
    read_differences,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.engine_diff",
        description="Compare the cdktf and cdktn outputs against the documented differences.",
    )
    parser.add_argument("cdktf_out", type=Path, help="output of the default engine (cdktf)")
    parser.add_argument("cdktn_out", type=Path, help="output of CDK Terrain (cdktn)")
    parser.add_argument("--differences", type=Path, default=DIFFERENCES_FILE)
    args = parser.parse_args(argv)
    try:
        differences = read_differences(args.differences)
        report = compare(args.cdktf_out, args.cdktn_out, differences)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_report(report, {d.id: d for d in differences}))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
