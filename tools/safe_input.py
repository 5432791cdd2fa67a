"""Reading what a tool is given, safely: files, JSON and command lines. Standard library only
(the workflows run the tools before, or without, installing anything).

Every failure is an `InputError` with a one-line message that names the file or argument and
says what is wrong, for the tool to print and exit with status 2; none is a traceback:

* `read_text`: a regular file (a FIFO or device is refused before it is opened, so nothing
  blocks), at most `max_bytes`, UTF-8 (the offending byte is named);
* `read_json`: `read_text`, then JSON with no NaN or infinity, no number Python cannot hold
  (more than 4,300 digits), nesting at most `max_depth` deep (the decoder and every recursive
  walk after it stay far from Python's recursion limit);
* `OneLineParser`: `argparse` whose usage errors are one line and exit status 2;
* `positive_int`, `bounded_float`: argument types for IDs and intervals, checked before anything
  starts.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import stat
import sys
from pathlib import Path
from typing import Any, NoReturn

MAX_JSON_BYTES = 256 << 20
"""Largest JSON file a tool reads (a large Terraform plan is tens of MB)."""
MAX_JSON_DEPTH = 128
"""Deepest nesting accepted (a Terraform plan nests about 20 levels)."""
MAX_TEXT_BYTES = 64 << 20


class InputError(ValueError):
    """Unusable input; the message is one line."""


def one_line(text: object, limit: int = 300) -> str:
    """`text` on one line (control characters shown escaped), cut to about `limit` characters."""
    flat = re.sub(r"[\x00-\x1f\x7f\u2028\u2029]", lambda m: repr(m.group(0))[1:-1], str(text))
    return flat if len(flat) <= limit else f"{flat[:limit]}… ({len(flat)} chars)"


def read_text(path: Path, what: str = "file", max_bytes: int = MAX_TEXT_BYTES) -> str:
    """The text of a regular UTF-8 file of at most `max_bytes`; `InputError` otherwise."""
    shown = one_line(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{what} not found: {shown}") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {shown}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{what} {shown} is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{what} {shown} is not a regular file (a FIFO, socket or device)")
    if info.st_size > max_bytes:
        raise InputError(
            f"{what} {shown} is {info.st_size:,} bytes, more than the {max_bytes:,} accepted"
        )
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"cannot read {what} {shown}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise InputError(f"{what} {shown} is more than the {max_bytes:,} bytes accepted")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{what} {shown} is not valid UTF-8 (byte {exc.start + 1}, line {line})"
        ) from None


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InputError(f"the number {one_line(text, 40)} is out of range")
    return value


def _no_constant(name: str) -> NoReturn:
    raise InputError(f"{name} is not a JSON number")


def parse_json(text: str, what: str = "input", max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Decoded JSON; `InputError` for invalid JSON, NaN/Infinity, a number out of range, or
    nesting deeper than `max_depth`."""
    try:
        data = json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except InputError as exc:
        raise InputError(f"{what} is not usable JSON: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{what} is not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise InputError(f"{what} is nested too deeply (more than {max_depth} levels)") from None
    except ValueError as exc:  # an integer of more than sys.get_int_max_str_digits() digits
        raise InputError(f"{what} is not usable JSON: {one_line(exc, 120)}") from None
    depth = _depth(data, max_depth)
    if depth > max_depth:
        raise InputError(f"{what} is nested too deeply (more than {max_depth} levels)")
    return data


def _depth(data: Any, limit: int) -> int:
    """Nesting depth of decoded JSON, without recursion; stops once past `limit`."""
    deepest = 0
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return deepest


def read_json(
    path: Path,
    what: str = "JSON file",
    max_bytes: int = MAX_JSON_BYTES,
    max_depth: int = MAX_JSON_DEPTH,
) -> Any:
    """`read_text` and `parse_json` of one file."""
    text = read_text(path, what, max_bytes)
    return parse_json(text, f"{what} {one_line(path)}", max_depth)


def write_text(path: Path, text: str, what: str = "output") -> None:
    """Write a tool's output file; `InputError` naming it if the directory is missing or the
    file cannot be written."""
    try:
        path.write_text(text, encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            f"cannot write {what} {one_line(path)}: its directory does not exist"
        ) from None
    except OSError as exc:
        raise InputError(f"cannot write {what} {one_line(path)}: {exc.strerror or exc}") from None


def check_writable(path: Path | None, what: str = "output") -> None:
    """Before a tool starts: `InputError` if `path` (an output it will write) cannot be
    created: its directory is missing, or it is a directory itself."""
    if path is None:
        return
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"cannot write {what} {one_line(path)}: its directory does not exist")
    if path.is_dir():
        raise InputError(f"cannot write {what} {one_line(path)}: it is a directory")


class OneLineParser(argparse.ArgumentParser):
    """`argparse.ArgumentParser` whose errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {one_line(message)} (see --help)", file=sys.stderr)
        sys.exit(2)


def positive_int(text: str) -> int:
    """An ID: decimal digits only (no sign, `_`, spaces or exponent), at least 1, 64-bit."""
    if not re.fullmatch(r"[1-9][0-9]{0,18}", text) or int(text) > 2**63 - 1:
        raise argparse.ArgumentTypeError(f"{one_line(text, 40)!r} is not a positive integer ID")
    return int(text)


def bounded_float(low: float, high: float, unit: str, *, low_inclusive: bool = False) -> Any:
    """An argument type: a finite number with low < value <= high (low <= value with
    `low_inclusive`)."""
    above = "at least" if low_inclusive else "more than"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{one_line(text, 40)!r} is not a number") from None
        in_range = (low <= value if low_inclusive else low < value) and value <= high
        if not (math.isfinite(value) and in_range):
            raise argparse.ArgumentTypeError(
                f"{one_line(text, 40)} is out of range: must be {above} {low:g} and at most "
                f"{high:g} {unit}"
            )
        return value

    return parse
