"""Processed caches: built once under concurrency, keyed on raw file contents, placeable outside the data folder,
loaded without unrestricted unpickling. Data: bundled real MSR Action3D and small generated (random) arrays."""

import builtins
import os
import subprocess
import sys
import textwrap
import time
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


def test_a_tampered_cache_is_refused_without_running_its_payload(tmp_path):
    root = tmp_path / "mine"
    write_folder(root)
    ds = SkeletonFolder(root, "sbu", log=False)
    marker = tmp_path / "pwned"
    torch.save((Trap(marker), {}, None), Path(ds.processed_dir) / "data.pt")
    with pytest.raises(RuntimeError, match="unreadable"):
        SkeletonFolder(root, "sbu", log=False)
    assert not marker.exists()
