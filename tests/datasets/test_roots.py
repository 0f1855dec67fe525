"""Default data roots and the bundled data's copy into the user data folder (skelgraph.datasets.roots).

The wheel itself is built and installed in tests/test_packaging.py; here the installed case is simulated by
taking the checkout away (``REPO_DATA = None``) and pointing the bundle at the repository's ``datasets/``.
"""

import hashlib
from pathlib import Path

import pytest

from skelgraph.datasets import NTU60, SBU, RawDataMissingError, roots
from skelgraph.datasets.roots import (
    DATA_ENV,
    REPO_DATA,
    SUMS,
    bundled_folders,
    default_root,
    install_bundled,
    platform_cache_dir,
    read_checksums,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "datasets"


def test_platform_cache_dir_conventions(tmp_path):
    home = tmp_path / "home"
    assert platform_cache_dir("linux", {}, home) == home / ".cache" / "skelgraph"
    assert platform_cache_dir("linux", {"XDG_CACHE_HOME": "/xdg"}, home) == Path("/xdg/skelgraph")
    assert platform_cache_dir("linux", {"XDG_CACHE_HOME": "rel/xdg"}, home) == home / ".cache" / "skelgraph", \
        "a relative XDG_CACHE_HOME is invalid by the spec and ignored"
    assert platform_cache_dir("freebsd14", {}, home) == home / ".cache" / "skelgraph"
    assert platform_cache_dir("darwin", {"XDG_CACHE_HOME": "/xdg"}, home) == home / "Library/Caches/skelgraph"
    assert platform_cache_dir("win32", {"LOCALAPPDATA": "/lad"}, home) == Path("/lad/skelgraph/Cache")
    assert platform_cache_dir("win32", {}, home) == home / "AppData/Local/skelgraph/Cache"


def test_checkout_detected_and_never_site_packages():
    assert REPO_DATA == DATA, "the tests run from a checkout"
    assert roots.checkout_root() == ROOT
    assert roots._in_site_packages(Path("/x/lib/python3.11/site-packages/skelgraph"))
    assert not roots._in_site_packages(ROOT)
    assert bundled_folders() == ("msr_action3d", "ntu_rgbd", "sbu"), "florence_3d ships no joint data"


@pytest.fixture
def installed(monkeypatch, tmp_path):
    """skelgraph as if installed from a wheel: no checkout, the bundle in package data, a fresh user cache."""
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.setattr(roots, "REPO_DATA", None)
    monkeypatch.setattr(roots, "bundle_dir", lambda: DATA)
    cache = tmp_path / "cache" / "skelgraph"
    monkeypatch.setattr(roots, "user_data_dir", lambda: cache)
    return cache


def listed(folder):
    return sorted(rel for rel, _ in read_checksums(DATA / folder / SUMS))


def tree(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())


def test_default_root_order(monkeypatch, tmp_path, installed):
    # 1. the environment variable wins; nothing is copied into a folder the user named
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "env"))
    assert default_root("sbu") == str(tmp_path / "env" / "sbu")
    assert not (tmp_path / "env").exists() and not installed.exists()
    # 2. a checkout's datasets/
    monkeypatch.delenv(DATA_ENV)
    monkeypatch.setattr(roots, "REPO_DATA", DATA)
    assert default_root("sbu") == str(DATA / "sbu")
    assert not installed.exists()
    # 3. the user data folder, where a bundled dataset arrives complete with its provenance
    monkeypatch.setattr(roots, "REPO_DATA", None)
    assert default_root("ntu_rgbd") == str(installed / "ntu_rgbd")
    raw = [p for p in tree(installed / "ntu_rgbd") if p.startswith("raw/")]
    assert raw == sorted(["raw/SHA256SUMS"] + [f"raw/{rel}" for rel in listed("ntu_rgbd")])
    assert (installed / "ntu_rgbd" / "SOURCE.md").read_bytes() == (DATA / "ntu_rgbd" / "SOURCE.md").read_bytes()
    assert (installed / "README.md").read_bytes() == (DATA / "README.md").read_bytes()
    for rel, digest in read_checksums(installed / "ntu_rgbd" / SUMS):
        assert hashlib.sha256((installed / "ntu_rgbd" / "raw" / rel).read_bytes()).hexdigest() == digest
    # A dataset that is not bundled only gets its path: the error then says where to put the files.
    assert default_root("utkinect") == str(installed / "utkinect")
    assert not (installed / "utkinect").exists()


def test_installed_dataset_loads_from_the_user_folder(installed):
    data = NTU60(split="all")  # default root: the user folder, filled from the bundle on first use
    assert data.root == str(installed / "ntu_rgbd") and len(data) == 5
    assert Path(data.processed_dir).is_relative_to(installed), "the processed cache sits next to the copy"
    # An explicit root is used as given: nothing is copied into it, the error says what to do.
    with pytest.raises(RawDataMissingError, match="install_bundled"):
        SBU(root=str(installed / "elsewhere"))
    assert not (installed / "elsewhere" / "raw" / "s01s02").exists()


def test_install_bundled_keeps_user_files_and_restores_missing_ones(tmp_path, installed):
    dest = tmp_path / "mine" / "ntu_rgbd"
    own = dest / "raw" / "samples" / "S001C001P001R001A011.skeleton"
    own.parent.mkdir(parents=True)
    own.write_text("the user's own file")
    assert install_bundled("ntu_rgbd", dest) == dest
    assert own.read_text() == "the user's own file", "never overwrites"
    assert len(tree(dest / "raw")) == len(listed("ntu_rgbd")) + 1
    missing = dest / "raw" / "NTU_RGBD_samples_with_missing_skeletons.txt"
    missing.unlink()
    install_bundled("ntu_rgbd", dest)
    assert missing.read_bytes() == (DATA / "ntu_rgbd" / "raw" / missing.name).read_bytes()
    assert not [p for p in tree(dest) if p.endswith(".part")], "no temporary file left behind"
    with pytest.raises(ValueError, match="not bundled"):
        install_bundled("utkinect", tmp_path / "u")


def make_bundle(path, files):
    """A toy bundle folder (generated data) with a correct SHA256SUMS."""
    for rel, text in files.items():
        (path / "toy" / "raw" / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / "toy" / "raw" / rel).write_text(text)
    (path / "toy" / "SOURCE.md").write_text("made by the test")
    sums = "".join(f"{hashlib.sha256(t.encode()).hexdigest()}  ./{rel}\n" for rel, t in files.items())
    (path / "toy" / SUMS).write_text(sums)


def test_install_bundled_refuses_a_damaged_bundle(monkeypatch, tmp_path):
    make_bundle(tmp_path / "bundle", {"a.txt": "alpha", "sub/b.txt": "beta"})
    monkeypatch.setattr(roots, "bundle_dir", lambda: tmp_path / "bundle")
    assert bundled_folders() == ("toy",)
    good = install_bundled("toy", tmp_path / "good")
    assert tree(good) == ["SOURCE.md", "raw/SHA256SUMS", "raw/a.txt", "raw/sub/b.txt"]
    (tmp_path / "bundle" / "toy" / "raw" / "sub" / "b.txt").write_text("tampered")
    with pytest.raises(RuntimeError, match="checksum.*reinstall"):
        install_bundled("toy", tmp_path / "bad")
    assert not (tmp_path / "bad" / "raw" / "sub" / "b.txt").exists(), "nothing wrong is written"


@pytest.mark.parametrize("line", ["abc  ./a.txt", f"{'0' * 64}  ../escape.txt", f"{'0' * 64}  /abs.txt",
                                  f"{'0' * 64}"])
def test_read_checksums_rejects_bad_lines(tmp_path, line):
    (tmp_path / "SUMS").write_text(f"{'1' * 64}  ./ok.txt\n{line}\n")
    with pytest.raises(ValueError, match="line 2"):
        read_checksums(tmp_path / "SUMS")


def globbed(base, patterns):
    """What setuptools' package-data globs pick under ``base``."""
    return {str(p.relative_to(base)) for pat in patterns for p in base.glob(pat) if p.is_file()}


def test_wheel_package_data_is_exactly_the_bundle(tmp_path):
    """The package-data globs of pyproject.toml pick the bundled files with their provenance and nothing else:
    no processed cache, no full NTU set unpacked in a checkout, nothing SHA256SUMS does not list."""
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["skelgraph._bundled"]
    expected = {"README.md"}
    for folder in bundled_folders():
        expected |= {f"{folder}/SOURCE.md", f"{folder}/{SUMS}"} | {f"{folder}/raw/{rel}" for rel in listed(folder)}
    assert globbed(DATA, patterns) == expected
    for junk in ("msr_action3d/processed/msraction3d-0/data.pt", "ntu_rgbd/raw/nturgb+d_skeletons/S001.skeleton",
                 "ntu_rgbd/raw/nturgb+d_skeletons/notes.txt", "sbu/raw/s01s02/01/001/skeleton_pos.txt.bak"):
        (tmp_path / junk).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / junk).write_text("not bundled")
    assert globbed(tmp_path, patterns) == set()
