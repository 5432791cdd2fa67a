"""The one YAML reader of every input: plain data only, within bounds, never a crash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from constructs_lib.config import safe_yaml
from constructs_lib.config.safe_yaml import InputFileError, YamlInputError, load, read_text


def test_plain_data_loads() -> None:
    assert load("a: [1, 2.5, true, null, x]\nb: {c: d}\n") == {
        "a": [1, 2.5, True, None, "x"],
        "b": {"c": "d"},
    }


def test_merge_keys_merge_and_explicit_keys_win() -> None:
    text = "base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\nd: {<<: [*b, {z: 4}]}\n"
    assert load(text) == {
        "base": {"x": 1, "y": 2},
        "c": {"x": 1, "y": 3},
        "d": {"x": 1, "y": 2, "z": 4},
    }


def test_timestamps_stay_strings() -> None:
    assert load("a: 2024-01-01\nb: 2024-01-01T10:00:00Z\n") == {
        "a": "2024-01-01",
        "b": "2024-01-01T10:00:00Z",
    }


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("a: 1\nb: 2\na: 3\n", 3, 1, "duplicate key 'a' (first on line 1)"),
        ("x: {1: a, 0x1: b}\n", 1, 11, "duplicate key 1 (first on line 1)"),
        ("a: .inf\n", 1, 4, "an infinite number is not a usable value"),
        ("a: -.Inf\n", 1, 4, "an infinite number is not a usable value"),
        ("a: .NaN\n", 1, 4, "NaN is not a usable value"),
        ("a: 1.0e+999\n", 1, 4, "an infinite number is not a usable value"),
        ("a: -9007199254740993\n", 1, 4, "integer with 16 digits is beyond +-2**53"),
        ("a: 0x20000000000001\n", 1, 4, "integer with 16 digits is beyond +-2**53"),
        ("a: !!set {x}\n", 1, 4, "the YAML tag 'tag:yaml.org,2002:set' is not supported"),
        ("a: !!omap [{x: 1}]\n", 1, 4, "the YAML tag 'tag:yaml.org,2002:omap' is not supported"),
        ("a: !custom x\n", 1, 4, "the YAML tag '!custom' is not supported"),
        ("a: &x [1, *x]\n", 1, 11, "alias *x refers to a node that contains it"),
        (
            "a: [\n",
            2,
            1,
            "invalid YAML: while parsing a flow node did not find expected node content",
        ),
        ("a: *nope\n", 1, 4, "invalid YAML: found undefined alias"),
        (
            "--- 1\n--- 2\n",
            2,
            1,
            "invalid YAML: expected a single document in the stream but found another document",
        ),
    ],
)
def test_refused_with_line_and_column(text: str, line: int, column: int, message: str) -> None:
    with pytest.raises(YamlInputError) as info:
        load(text)
    assert (info.value.line, info.value.column) == (line, column)
    assert info.value.message.startswith(message), info.value.message


def test_exactly_2_to_the_53_is_accepted() -> None:
    assert load("a: 9007199254740992\nb: -9007199254740992\n") == {"a": 2**53, "b": -(2**53)}


@pytest.mark.parametrize("depth", [safe_yaml.MAX_DEPTH - 1, safe_yaml.MAX_DEPTH + 1])
def test_depth_limit(depth: int) -> None:
    text = "a: " + "[" * depth + "]" * depth
    if depth < safe_yaml.MAX_DEPTH:
        assert load(text)["a"]
    else:
        with pytest.raises(YamlInputError, match="nested more than 64 levels deep"):
            load(text)


def test_deep_aliases_count_towards_the_depth() -> None:
    deep = "[" * 40 + "]" * 40
    with pytest.raises(YamlInputError, match="levels deep \\(aliases expanded\\)"):
        load(f"a: &d {deep}\nb: {'[' * 30}*d{']' * 30}\n")


def test_deep_nesting_does_not_crash_the_interpreter() -> None:
    """libyaml's composer recursed in C and segfaulted (exit 139) at this depth."""
    code = (
        "from constructs_lib.config.safe_yaml import load, YamlInputError\n"
        "try:\n    load('a: ' + '[' * 300000 + ']' * 300000)\nexcept YamlInputError as e:\n    print(e)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parents[2],
    )
    assert proc.returncode == 0, proc.stderr
    assert "nested more than 64 levels deep" in proc.stdout


def test_alias_bomb_is_refused_before_anything_expands_it() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    with pytest.raises(YamlInputError, match="more than 200,000 values"):
        load("\n".join(lines) + "\n")


def test_a_few_aliases_are_fine() -> None:
    assert load("a: &a [1, 2]\nb: [*a, *a]\n") == {"a": [1, 2], "b": [[1, 2], [1, 2]]}


def test_read_text_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "dev.yaml"
    os.mkfifo(path)
    with pytest.raises(InputFileError, match=r"not a regular file: a FIFO \(named pipe\)"):
        read_text(path)


def test_read_text_refuses_devices_directories_big_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not a regular file: a device"):
        read_text(Path("/dev/zero"))
    with pytest.raises(InputFileError, match="is a directory"):
        read_text(tmp_path)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (safe_yaml.MAX_FILE_BYTES + 1))
    with pytest.raises(InputFileError, match="larger than 1024 KiB"):
        read_text(big)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"a: 1\nb: caf\xe9\n")
    with pytest.raises(InputFileError, match=r"not valid UTF-8 \(byte 12, line 2\)"):
        read_text(latin)
    with pytest.raises(FileNotFoundError):
        read_text(tmp_path / "missing.yaml")


def test_read_text_follows_a_symlink_to_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "real.yaml").write_text("a: 1\n")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "real.yaml")
    assert read_text(tmp_path / "link.yaml") == "a: 1\n"
