"""Where dataset files live, and the bundled real data that travels with the package.

A dataset's root (the folder holding its ``raw/`` and ``processed/``) is the first of:

1. the ``root=`` argument of the dataset;
2. ``$SKELGRAPH_DATA/<folder>`` when that environment variable is set;
3. the checkout's ``datasets/<folder>`` when skelgraph runs from a source checkout (an editable install, or the
   repository on ``sys.path``);
4. ``<user data folder>/<folder>``, where the user data folder follows the platform's cache convention
   (:func:`user_data_dir`).

So an installed package never writes into ``site-packages``. The bundled real data (MSR Action3D, SBU Kinect
Interaction, the NTU RGB+D samples and lists) is package data of an installed wheel (``skelgraph/_bundled``,
mapped onto the repository's ``datasets/`` at build time), with each folder's ``SOURCE.md`` and
``raw/SHA256SUMS``. When a bundled dataset resolves to the user data folder, :func:`install_bundled` copies it
there on first use, checking every file against its checksum; :func:`install_bundled` also puts a copy wherever
you ask (e.g. under ``$SKELGRAPH_DATA``).
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

#: Environment variable naming the folder that holds one sub-folder per dataset.
DATA_ENV = "SKELGRAPH_DATA"
#: Checksum list of a bundled dataset, relative to its folder; it covers every file of ``raw/`` but itself.
SUMS = "raw/SHA256SUMS"

_PACKAGE = Path(__file__).resolve().parents[1]


def _in_site_packages(path: Path) -> bool:
    return any(part in ("site-packages", "dist-packages") for part in path.parts)


def checkout_root() -> Path | None:
    """The source checkout skelgraph is imported from (it has ``pyproject.toml`` and ``datasets/`` next to the
    package), or None for an installed package."""
    repo = _PACKAGE.parent
    if _in_site_packages(repo) or not (repo / "pyproject.toml").is_file() or not (repo / "datasets").is_dir():
        return None
    return repo


_CHECKOUT = checkout_root()
#: The checkout's ``datasets/`` folder, or None when skelgraph is installed (no checkout next to it).
REPO_DATA: Path | None = _CHECKOUT / "datasets" if _CHECKOUT is not None else None


def user_data_dir() -> Path:
    """skelgraph's folder in the user cache: ``$XDG_CACHE_HOME/skelgraph`` (default ``~/.cache/skelgraph``) on
    Linux and other POSIX systems, ``~/Library/Caches/skelgraph`` on macOS, ``%LOCALAPPDATA%\\skelgraph\\Cache``
    on Windows."""
    return platform_cache_dir(sys.platform, os.environ, Path.home())


def platform_cache_dir(platform: str, environ: Mapping[str, str], home: Path) -> Path:
    """:func:`user_data_dir` for a given platform (``sys.platform``), environment and home folder."""
    if platform == "win32":
        base = environ.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        return Path(base) / "skelgraph" / "Cache"
    if platform == "darwin":
        return home / "Library" / "Caches" / "skelgraph"
    xdg = environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says relative paths are invalid and must be ignored.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".cache"
    return base / "skelgraph"


def bundle_dir() -> Path | None:
    """Where the bundled data of this installation is: the wheel's package data, else the checkout's
    ``datasets/`` (None when neither exists)."""
    packaged = _PACKAGE / "_bundled"
    return packaged if packaged.is_dir() else REPO_DATA


def bundled_folders() -> tuple[str, ...]:
    """Dataset folders shipped with skelgraph (each has ``SOURCE.md`` and ``raw/SHA256SUMS``)."""
    src = bundle_dir()
    if src is None:
        return ()
    return tuple(sorted(p.name for p in src.iterdir() if (p / SUMS).is_file() and (p / "SOURCE.md").is_file()))


def default_root(folder: str) -> str:
    """The root of the dataset folder ``folder`` when no ``root=`` is given (see the module docstring).

    In the user data folder, a bundled dataset is copied there (checksums verified) the first time."""
    base = os.environ.get(DATA_ENV)
    if base:
        return str(Path(base) / folder)
    if REPO_DATA is not None:
        return str(REPO_DATA / folder)
    root = user_data_dir() / folder
    if folder in bundled_folders():
        install_bundled(folder, root)
    src = bundle_dir()
    readme = user_data_dir() / "README.md"  # where to put the data that cannot be bundled
    if src is not None and (src / "README.md").is_file() and not readme.exists():
        _write_atomic(readme, (src / "README.md").read_bytes())
    return str(root)


def read_checksums(path: Path) -> list[tuple[str, str]]:
    """``(relative path, sha256)`` of every line of a ``sha256sum`` file (``DIGEST  ./rel/path``)."""
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        digest, _, rel = line.partition(" ")
        rel = rel.strip().lstrip("*")  # sha256sum marks binary mode with '*'
        rel = rel[2:] if rel.startswith("./") else rel
        if len(digest) != 64 or not rel or Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise ValueError(f"{path}, line {number}: expected 'SHA256  ./relative/path', got {line!r}")
        entries.append((rel, digest.lower()))
    return entries


def _write_atomic(target: Path, data: bytes) -> None:
    """Write through a temporary file and a rename, so that a reader (or a second process copying the same
    bundle, e.g. another DDP rank) never sees a partial file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def install_bundled(folder: str, dest: str | os.PathLike | None = None) -> Path:
    """Copy the bundled dataset ``folder`` (``SOURCE.md``, ``raw/SHA256SUMS`` and every file it lists) into
    ``dest`` (default: the user data folder's ``folder``) and return ``dest``.

    Every copied file is checked against ``SHA256SUMS``; a mismatch raises ``RuntimeError`` (a damaged
    installation) before anything wrong is written. Files already present are kept (your own copy wins, e.g. the
    full NTU set next to the bundled lists), so later calls only look for files that went missing.
    """
    src_root = bundle_dir()
    if src_root is None or folder not in bundled_folders():
        raise ValueError(f"{folder!r} is not bundled with skelgraph; bundled: {', '.join(bundled_folders())}")
    src = src_root / folder
    dest = Path(dest) if dest is not None else user_data_dir() / folder
    for rel, digest in read_checksums(src / SUMS):
        target = dest / "raw" / rel
        if target.exists():
            continue
        data = (src / "raw" / rel).read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise RuntimeError(f"bundled file {src / 'raw' / rel} does not match its checksum in {src / SUMS}: "
                               "the skelgraph installation is damaged; reinstall it")
        _write_atomic(target, data)
    for rel in ("SOURCE.md", SUMS):
        if not (dest / rel).exists():
            _write_atomic(dest / rel, (src / rel).read_bytes())
    return dest
