"""The built ML wheel as data: where it is, what it is called, which version. Pure Python."""

from __future__ import annotations

import hashlib
import re
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from constructs_lib.config.errors import ConfigError, Problem

BUILD_HINT = "run `make wheel` (or `make synth`, which builds it first)"


@dataclass(frozen=True, kw_only=True)
class WheelArtifact:
    """A built wheel of the ML package (`ml_src/`)."""

    path: Path
    """Absolute path of the .whl on the build machine (never written into the output)."""
    distribution: str
    """Distribution name, e.g. `taxi-fare-mlops`."""
    package_name: str
    """Import / wheel package name used by `python_wheel_task`, e.g. `taxi_fare_mlops`."""
    version: str
    sha256: str
    """Content hash, to tell one build from another."""

    @property
    def filename(self) -> str:
        return self.path.name

    def read_member(self, member: str) -> bytes:
        """A file packaged in the wheel (e.g. `taxi_fare_mlops/notebooks/<name>.py`): what is
        deployed next to the wheel is exactly what the wheel carries."""
        try:
            with zipfile.ZipFile(self.path) as wheel:
                return wheel.read(member)
        except (KeyError, OSError, zipfile.BadZipFile) as exc:
            raise ConfigError(
                [
                    Problem(
                        self.filename, member, f"cannot read it from the wheel ({exc})", BUILD_HINT
                    )
                ]
            ) from None


def _shown(path: Path, root: Path | None) -> str:
    return str(path.relative_to(root)) if root and path.is_relative_to(root) else str(path)


def read_project_metadata(ml_project: Path, *, root: Path | None = None) -> tuple[str, str]:
    """(distribution name, version) from `ml_project/pyproject.toml`."""
    from constructs_lib.config.safe_yaml import read_text

    pyproject = ml_project / "pyproject.toml"
    try:
        # read_text: a regular UTF-8 file (a FIFO would block, bad bytes would be a traceback).
        meta = tomllib.loads(read_text(pyproject))["project"]
        name, version = meta["name"], meta["version"]
        if not all(
            isinstance(v, str) and re.fullmatch(r"[A-Za-z0-9._+-]{1,100}", v)
            for v in (name, version)
        ):
            raise ValueError("name and version must be plain strings")
        return name, version
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            [
                Problem(
                    _shown(pyproject, root),
                    "project",
                    f"cannot read the ML package's name and version ({exc})",
                    "fix ml_src/pyproject.toml",
                )
            ]
        ) from None


def locate_wheel(ml_project: Path, *, root: Path | None = None) -> WheelArtifact:
    """Find the wheel of the version in `ml_project/pyproject.toml` in `ml_project/dist/`.

    Raises `ConfigError` saying how to build it when it is missing."""
    distribution, version = read_project_metadata(ml_project, root=root)
    package = re.sub(r"[-_.]+", "_", distribution).lower()
    wheel = ml_project / "dist" / f"{package}-{version}-py3-none-any.whl"
    if not wheel.is_file():
        shown_wheel = (
            str(wheel.relative_to(root)) if root and wheel.is_relative_to(root) else str(wheel)
        )
        raise ConfigError([Problem(shown_wheel, "", "the ML wheel has not been built", BUILD_HINT)])
    return WheelArtifact(
        path=wheel.resolve(),
        distribution=distribution,
        package_name=package,
        version=version,
        sha256=hashlib.sha256(wheel.read_bytes()).hexdigest(),
    )
