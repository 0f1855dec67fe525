"""Processed caches: built once under concurrency, keyed on raw file contents, placeable outside the data folder,
loaded without unrestricted unpickling. Data: bundled real MSR Action3D and small generated (random) arrays."""

import builtins
import json
import os
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import skelgraph.datasets.base as base
from skelgraph.datasets import SkeletonFolder

ROOT = Path(__file__).resolve().parents[2]


def write_folder(root: Path, n: int = 3) -> None:
    """A SkeletonFolder of generated (random) SBU-layout sequences."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        np.save(root / f"s{i}.npy", rng.normal(size=(4, 15, 3)).astype(np.float32))
    (root / "labels.csv").write_text("name,label\n" + "".join(f"s{i},{i % 2}\n" for i in range(n)))


BUILDER = textwrap.dedent("""
    import os, sys, time
    from skelgraph.datasets import MSRAction3D
    while not os.path.exists(sys.argv[2]):  # start together
        time.sleep(0.01)
    ds = MSRAction3D(sys.argv[1], subset="AS1", split="train")
    print(len(ds), ds.processed_dir)
""")


@pytest.mark.slow
def test_concurrent_builds_of_one_cache_all_succeed(tmp_path):
    root = tmp_path / "msr"
    root.mkdir()
    (root / "raw").symlink_to(ROOT / "datasets" / "msr_action3d" / "raw")
    go = tmp_path / "go"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_CURRENT_TEST", base.CACHE_ENV)}
    env["OMP_NUM_THREADS"] = "1"
    procs = [subprocess.Popen([sys.executable, "-c", BUILDER, str(root), str(go)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    time.sleep(1.0)
    go.touch()
    results = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in results]
    outputs = {out.strip() for out, _ in results}
    assert len(outputs) == 1, "every process sees the same cache"
    assert sum(err.count("Processing") for _, err in results) == 1, "built once, the others waited for it"
    processed = root / "processed"
    assert not list(processed.glob(".*.tmp")), "no temporary build folder left"


def test_an_edit_that_keeps_size_and_mtime_rebuilds_the_cache(tmp_path):
    root = tmp_path / "mine"
    write_folder(root)
    first = SkeletonFolder(root, "sbu", log=False)
    path = root / "s1.npy"
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[-4:] = np.float32(123.0).tobytes()  # same size
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same modification time
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
    again = SkeletonFolder(root, "sbu", log=False)
    assert again.processed_dir != first.processed_dir
    assert float(again[1].x.view(-1)[-1]) == 123.0


def test_digests_are_remembered_until_a_file_changes(tmp_path, monkeypatch):
    root = tmp_path / "mine"
    write_folder(root)
    SkeletonFolder(root, "sbu", log=False)
    calls = []
    real = base._sha256
    monkeypatch.setattr(base, "_sha256", lambda p: calls.append(p) or real(p))
    SkeletonFolder(root, "sbu", log=False)
    assert calls == [], "unchanged files are not read again"
    np.save(root / "s2.npy", np.zeros((4, 15, 3), np.float32) + 1)
    SkeletonFolder(root, "sbu", log=False)
    assert [Path(p).name for p in calls] == ["s2.npy"]


def test_cache_dir_argument_and_environment_keep_the_data_folder_untouched(tmp_path, monkeypatch):
    root = tmp_path / "mine"
    write_folder(root)
    before = sorted(p.name for p in root.iterdir())
    if os.geteuid() != 0:
        root.chmod(0o555)
    ds = SkeletonFolder(root, "sbu", cache_dir=tmp_path / "cache", log=False)
    assert Path(ds.processed_dir).parent == tmp_path / "cache" and len(ds) == 3
    monkeypatch.setenv(base.CACHE_ENV, str(tmp_path / "env"))
    ds = SkeletonFolder(root, "sbu", log=False)
    assert Path(ds.processed_dir).parent == tmp_path / "env" / "custom" and len(ds) == 3
    assert sorted(p.name for p in root.iterdir()) == before, "nothing written into the data folder"
    root.chmod(0o755)


class Trap:
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return builtins.open, (self.path, "w")


def test_a_tampered_cache_is_rebuilt_without_running_its_payload(tmp_path):
    root = tmp_path / "mine"
    write_folder(root)
    ds = SkeletonFolder(root, "sbu", log=False)
    marker = tmp_path / "pwned"
    torch.save((Trap(marker), {}, None), Path(ds.processed_dir) / "data.pt")
    with pytest.warns(UserWarning, match="damaged"):
        again = SkeletonFolder(root, "sbu", log=False)
    assert not marker.exists()
    torch.testing.assert_close(again[0].x, ds[0].x)
    # A payload that matches its checksum but is not a cache (the report rewritten too) is refused, unrun.
    torch.save((Trap(marker), {}, None), Path(ds.processed_dir) / "data.pt")
    report = Path(ds.processed_dir) / "skipped.json"
    report.write_text(report.read_text().replace(json.loads(report.read_text())["sha256"],
                                                 base._checksum(str(Path(ds.processed_dir) / "data.pt"))))
    with pytest.warns(UserWarning, match="damaged"):
        torch.testing.assert_close(SkeletonFolder(root, "sbu", log=False)[0].x, ds[0].x)
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["overwrite", "truncate", "no_checksum", "report_garbage", "payload_missing"])
def test_a_damaged_cache_is_rebuilt_never_served(tmp_path, damage):
    root = tmp_path / "mine"
    write_folder(root)
    ds = SkeletonFolder(root, "sbu", log=False)
    expected = [ds[i].x.clone() for i in range(len(ds))]
    data, report = Path(ds.processed_dir) / "data.pt", Path(ds.processed_dir) / "skipped.json"
    raw = bytearray(data.read_bytes())
    if damage == "overwrite":  # same size, different bytes: only the checksum can tell
        start = raw.find(torch.load(data, weights_only=True)[0]["x"].numpy().tobytes()[:64])
        assert start > 0
        raw[start:start + 16] = np.full(4, 12345.0, np.float32).tobytes()
        data.write_bytes(bytes(raw))
    elif damage == "truncate":
        data.write_bytes(bytes(raw[: len(raw) // 2]))
    elif damage == "no_checksum":
        report.write_text(json.dumps({k: v for k, v in json.loads(report.read_text()).items() if k != "sha256"}))
    elif damage == "report_garbage":
        report.write_bytes(b"\x00[")
    else:
        data.unlink()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = SkeletonFolder(root, "sbu", log=False)
    assert any("damaged" in str(w.message) for w in caught) or damage == "payload_missing"
    for i, x in enumerate(expected):
        torch.testing.assert_close(again[i].x, x)
    assert float(again[0].x.abs().max()) < 100


def test_a_cache_that_cannot_be_rebuilt_is_one_clear_error(tmp_path, monkeypatch):
    root = tmp_path / "mine"
    write_folder(root)
    ds = SkeletonFolder(root, "sbu", log=False)
    data = Path(ds.processed_dir) / "data.pt"
    data.write_bytes(data.read_bytes()[:100])
    monkeypatch.setattr(SkeletonFolder, "process", lambda self: (Path(self.processed_dir) / "data.pt").write_bytes(
        b"junk") or (Path(self.processed_dir) / "skipped.json").write_text("{}"))
    with pytest.warns(UserWarning, match="damaged"), pytest.raises(base.CacheError) as err:
        SkeletonFolder(root, "sbu", log=False)
    assert "could not be rebuilt" in str(err.value) and "\n" not in str(err.value)


def test_the_fingerprint_walk_ends_on_symlink_cycles_and_reads_no_special_file(tmp_path):
    root = tmp_path / "raw"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("a")
    (root / "loop1").symlink_to(".")
    (root / "sub" / "up").symlink_to("..")
    os.mkfifo(root / "pipe")
    first = base.fingerprint([root])
    (root / "a.txt").write_text("b")
    assert base.fingerprint([root]) != first  # still content-hashed
    assert base.fingerprint([root / "pipe"]) == base.fingerprint([root / "pipe"])


def test_a_pre_transform_that_overflows_is_refused_naming_the_file(tmp_path):
    root = tmp_path / "mine"
    write_folder(root)
    coords = np.zeros((4, 15, 3), np.float32)
    coords[1, 0] = 3e38
    np.save(root / "s1.npy", coords)

    def double(data):
        data.x = data.x * 2
        return data

    with pytest.raises(ValueError, match=r"pre_transform made non-finite values from .*s1\.npy"):
        SkeletonFolder(root, "sbu", log=False, pre_transform=double)


def test_a_cache_whose_pickle_would_crash_torch_is_rebuilt(tmp_path):
    """A payload whose checksum was rewritten to match, holding a tuple nested 10^6 deep as a dict key (hashing
    it crashes CPython): the bounded scan refuses it before torch's unpickler sees it, and the cache is rebuilt."""
    import io
    import zipfile

    from fuzz_cases import _deep_key

    root = tmp_path / "mine"
    write_folder(root)
    ds = SkeletonFolder(root, "sbu", log=False)
    data = Path(ds.processed_dir) / "data.pt"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data/data.pkl", _deep_key(1_000_000))
    data.write_bytes(buffer.getvalue())
    report = Path(ds.processed_dir) / "skipped.json"
    values = json.loads(report.read_text())
    report.write_text(json.dumps(dict(values, sha256=base._checksum(str(data)))))
    with pytest.warns(UserWarning, match="nested deeper than 32"):
        again = SkeletonFolder(root, "sbu", log=False)
    torch.testing.assert_close(again[0].x, ds[0].x)
