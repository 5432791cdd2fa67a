"""One hardened way to read YAML, for every input the app reads: environment configs, the
bootstrap config and the YAML that templates render. Pure Python.

PyYAML's `safe_load` constructs no Python objects, but it still accepts what breaks this app
later or never returns:

* **Deep nesting.** libyaml's composer recurses in C: ~100,000 nested `[` crash the process
  with a segmentation fault (exit 139). A first pass over the parser's *events* (iterative, no
  recursion) measures the depth and refuses more than `MAX_DEPTH` before anything is composed.
* **Alias bombs** ("billion laughs"). Aliases are shared, so loading is cheap, but every later
  walk (validation, an error message quoting the value, the jsii kernel) expands them. The same
  pass counts the nodes as if every alias were expanded and refuses more than `MAX_NODES`, and
  refuses an alias to a node that is still open (a recursive structure).
* **Duplicate keys.** PyYAML keeps the last one silently (a second `tasks:` empties a job).
  Refused in every mapping, also in JSON-style flow mappings; keys merged in with `<<:` may be
  overridden, as the merge key is meant to be used.
* **Numbers JSON and the jsii kernel cannot carry**: `.inf`, `.nan` (the kernel crashes on
  them) and integers beyond +-2**53 (JavaScript numbers are doubles: they would be rounded
  silently). Refused with the line they are on.
* **Tags outside plain data** (`!!binary`, `!!set`, `!!omap`, `!!python/...`): refused. YAML
  1.1 timestamps stay strings (the provider wants strings; a `date` would reach the kernel).

Errors are `YamlInputError` with the line and column, never the offending text.
"""

from __future__ import annotations

import errno
import math
import os
import stat
from pathlib import Path
from typing import Any

import yaml

MAX_DEPTH = 64
"""Deepest nesting of mappings and sequences (the configs and templates here use < 10)."""
MAX_NODES = 200_000
"""Most nodes a document may have with every alias expanded (the largest config here: ~300)."""
MAX_SAFE_INTEGER = 2**53
"""Largest integer a JavaScript number (the jsii kernel, Terraform JSON) holds exactly."""
MAX_FILE_BYTES = 1 << 20
"""Largest input file read (1 MiB; the configs here are ~2 KB)."""

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML was built with it (several times faster), else the pure one;
the depth pre-check makes the C composer safe to use."""

_MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlInputError(ValueError):
    """A YAML text this app refuses. `line` and `column` are 1-based (0: unknown)."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    @property
    def where(self) -> str:
        return f"line {self.line}, column {self.column}" if self.line else ""


def _mark_error(message: str, mark: Any) -> YamlInputError:
    if mark is None:
        return YamlInputError(message)
    return YamlInputError(message, mark.line + 1, mark.column + 1)


def _precheck(text: str) -> None:
    """Depth and expanded size of the document, from the parser's events (no composition)."""
    stack: list[list[Any]] = []  # per open collection: [expanded size, anchor, height]
    sizes: dict[str, tuple[int, int]] = {}  # anchor -> (expanded size, height)
    open_anchors: set[str] = set()
    total = 0

    def add(size: int, height: int, mark: Any) -> None:
        nonlocal total
        if stack:
            parent = stack[-1]
            parent[0] += size
            parent[2] = max(parent[2], height + 1)
            if len(stack) + height > MAX_DEPTH:
                raise _mark_error(
                    f"nested more than {MAX_DEPTH} levels deep (aliases expanded)", mark
                )
            if parent[0] > MAX_NODES:
                raise _mark_error(
                    f"more than {MAX_NODES:,} values once its aliases are expanded "
                    "(an alias bomb?)",
                    mark,
                )
        else:
            total += size

    for event in yaml.parse(text, Loader=_Base):
        if isinstance(event, yaml.CollectionStartEvent):
            if len(stack) >= MAX_DEPTH:
                raise _mark_error(f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
            stack.append([1, event.anchor, 0])
            if event.anchor:
                open_anchors.add(event.anchor)
        elif isinstance(event, yaml.CollectionEndEvent):
            size, anchor, height = stack.pop()
            if anchor:
                sizes[anchor] = (size, height)
                open_anchors.discard(anchor)
            add(size, height, event.start_mark)
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor:
                sizes[event.anchor] = (1, 0)
            add(1, 0, event.start_mark)
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor in open_anchors:
                raise _mark_error(
                    f"alias *{event.anchor} refers to a node that contains it (a recursive "
                    "structure)",
                    event.start_mark,
                )
            size, height = sizes.get(event.anchor, (1, 0))
            add(size, height, event.start_mark)


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """Safe loader with the constructors of plain data only (see the module docstring)."""

    yaml_constructors: dict[Any, Any] = {}


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    first_line: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            previous = first_line.get(key)
        except TypeError:
            raise _mark_error(
                "a mapping key must be a plain value, not a list or mapping", key_node.start_mark
            ) from None
        if previous is not None:
            from constructs_lib.config.errors import shown

            raise _mark_error(
                f"duplicate key {shown(key)} (first on line {previous})", key_node.start_mark
            )
        first_line[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=True)


def _construct_float(loader: _Loader, node: yaml.ScalarNode) -> float:
    value = yaml.SafeLoader.construct_yaml_float(loader, node)
    if not math.isfinite(value):
        raise _mark_error(
            f"{'NaN' if math.isnan(value) else 'an infinite number'} is not a usable value "
            "(JSON and Terraform have no such number); write a finite number",
            node.start_mark,
        )
    return value


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    value = yaml.SafeLoader.construct_yaml_int(loader, node)
    if abs(value) > MAX_SAFE_INTEGER:
        raise _mark_error(
            f"integer with {len(str(abs(value)))} digits is beyond +-2**53, the largest a "
            "JSON/JavaScript number holds exactly; quote it if it is an identifier",
            node.start_mark,
        )
    return value


def _construct_timestamp(loader: _Loader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> list[Any]:
    return loader.construct_sequence(node, deep=True)


def _refuse(loader: _Loader, node: yaml.Node) -> None:
    raise _mark_error(
        f"the YAML tag {node.tag!r} is not supported here; use plain strings, numbers, "
        "booleans, lists and mappings",
        node.start_mark,
    )


for _tag, _constructor in {
    "tag:yaml.org,2002:null": yaml.SafeLoader.construct_yaml_null,
    "tag:yaml.org,2002:bool": yaml.SafeLoader.construct_yaml_bool,
    "tag:yaml.org,2002:int": _construct_int,
    "tag:yaml.org,2002:float": _construct_float,
    "tag:yaml.org,2002:str": yaml.SafeLoader.construct_yaml_str,
    "tag:yaml.org,2002:timestamp": _construct_timestamp,
    "tag:yaml.org,2002:seq": _construct_seq,
    "tag:yaml.org,2002:map": _construct_mapping,
    None: _refuse,
}.items():
    _Loader.add_constructor(_tag, _constructor)


def load(text: str) -> Any:
    """Parse one YAML document under the rules of the module docstring. Raises
    `YamlInputError` (with line and column where known)."""
    try:
        _precheck(text)
        loader = _Loader(text)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except YamlInputError:
        raise
    except yaml.YAMLError as exc:
        parts = [getattr(exc, "context", None), getattr(exc, "problem", None)]
        detail = " ".join(p for p in parts if p) or type(exc).__name__
        raise _mark_error(f"invalid YAML: {detail}", getattr(exc, "problem_mark", None)) from None
    except RecursionError:
        raise YamlInputError(f"nested more than {MAX_DEPTH} levels deep") from None


class InputFileError(OSError):
    """An input file that cannot be read as text: `reason` says why, `fix` what to do."""

    def __init__(self, reason: str, fix: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fix = fix


def read_text(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a regular file of at most `limit` bytes. Refuses a FIFO, a device, a
    directory or a socket before reading from it (opening a FIFO for reading waits for a
    writer; a device can be endless). Raises `FileNotFoundError` or `InputFileError`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise InputFileError("is a directory", "replace it with a YAML file") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputFileError(
                "a symbolic link loop", "point the link at a real file, or replace it with one"
            ) from None
        raise InputFileError(exc.strerror or str(exc), "check its permissions") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise InputFileError("is a directory", "replace it with a YAML file")
        if not stat.S_ISREG(mode):
            kind = (
                "a FIFO (named pipe)"
                if stat.S_ISFIFO(mode)
                else "a device"
                if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a socket"
                if stat.S_ISSOCK(mode)
                else "not a regular file"
            )
            raise InputFileError(
                f"not a regular file: {kind}", "replace it with a regular YAML file"
            )
        with os.fdopen(fd, "rb") as handle:
            fd = -1  # closed by the file object from here on
            data = handle.read(limit + 1)
    finally:
        if fd != -1:
            os.close(fd)
    if len(data) > limit:
        raise InputFileError(
            f"larger than {limit // 1024} KiB", "split it up; an input file is a few KB"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputFileError(
            f"not valid UTF-8 (byte {exc.start + 1}, line {line})", "save it as UTF-8"
        ) from None
