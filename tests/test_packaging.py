"""The slow packaging test: build a wheel, install it into a fresh virtual environment, and use it from outside
the checkout as a new user would (bundled MSR Action3D, a tiny recipe run, the skelgraph-predict command).

It runs offline: the wheel is built without build isolation, and the new environment reaches torch & co. through
a ``.pth`` line naming the site-packages of the interpreter running the tests (nothing is downloaded). Deselect it
with ``-m "not packaging"``.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

from skelgraph.datasets.roots import SUMS, bundled_folders, read_checksums

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "datasets"
pytestmark = [pytest.mark.packaging, pytest.mark.slow]

SOURCE_IGNORE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "processed",
                                       "runs", ".pytest_cache", ".ruff_cache", ".hypothesis", "tests", "bench")


def run(cmd, **kwargs):
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=300, **kwargs)
    assert out.returncode == 0, f"{cmd}\nstdout:\n{out.stdout[-3000:]}\nstderr:\n{out.stderr[-3000:]}"
    return out


def files_under(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if not p.is_dir())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """A wheel built from a copy of the checkout (the build never writes into the working tree)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=SOURCE_IGNORE, symlinks=True)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", tmp / "dist", src])
    (path,) = (tmp / "dist").glob("skelgraph-*.whl")
    return path


def test_wheel_holds_every_package_the_bundle_and_the_commands(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    packages = {str(p.parent.relative_to(ROOT)) for p in (ROOT / "skelgraph").rglob("__init__.py")}
    assert packages <= {str(Path(n).parent) for n in names}, "every skelgraph package (recipes/ included once added)"
    bundled = sorted(n.removeprefix("skelgraph/_bundled/") for n in names if n.startswith("skelgraph/_bundled/"))
    expected = ["README.md"]
    for folder in bundled_folders():
        expected += [f"{folder}/SOURCE.md", f"{folder}/{SUMS}"]
        expected += [f"{folder}/raw/{rel}" for rel, _ in read_checksums(DATA / folder / SUMS)]
    assert bundled == sorted(expected), "the bundled data with its provenance, nothing else"
    assert not [n for n in names if n.startswith("datasets/") or "/processed/" in n]
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "skelgraph-predict = skelgraph.predict:main" in text
    assert "skelgraph-train = skelgraph.train:cli" in text and "skelgraph-evaluate = skelgraph.evaluate:main" in text


USER_SESSION = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    import skelgraph
    from skelgraph.datasets import MSRAction3D
    from skelgraph.recipes.arrn_msr import main as arrn_msr_main

    print("SKELGRAPH", skelgraph.__file__)
    data = MSRAction3D(subset="AS1", split="test")
    print("DATA", data.root, len(data))
    arrn_msr_main(["--out", "run", "--tiny", "--subset", "AS1", "--epochs", "1", "--T", "8", "--M", "8",
                   "--E", "1", "--log-every", "1"])
""")


def test_installed_wheel_works_outside_the_checkout(wheel, tmp_path):
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (purelib / "_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel])
    before = files_under(venv)

    work, cache = tmp_path / "work", tmp_path / "cache"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("SKELGRAPH_DATA", "PYTHONPATH")}
    env.update(XDG_CACHE_HOME=str(cache), HOME=str(tmp_path / "home"), PYTHONDONTWRITEBYTECODE="1",
               OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    session = run([python, "-c", USER_SESSION], cwd=work, env=env)
    lines = session.stdout.splitlines()
    assert next(x for x in lines if x.startswith("SKELGRAPH")).split()[1].startswith(str(purelib))
    data_root, size = next(x for x in lines if x.startswith("DATA")).split()[1:]
    assert data_root == str(cache / "skelgraph" / "msr_action3d") and int(size) > 0
    assert (cache / "skelgraph" / "msr_action3d" / "SOURCE.md").exists(), "provenance travels with the data"
    assert any(x.startswith("epoch 1/1 batch 1/1") for x in lines), "--log-every lines"
    assert "\r" not in session.stderr + session.stdout, "no progress bars in a captured (non-terminal) output"

    run_dir = work / "run" / "AS1"
    for name in ("metrics.json", "config.json", "provenance.json", "model.pt"):
        assert (run_dir / name).exists(), name
    prov = json.loads((run_dir / "provenance.json").read_text())
    assert prov["git"] is None, "an installed package reports no revision (not even of a repository around it)"
    assert Path(prov["skelgraph_path"]).is_relative_to(purelib)

    # The console command, on a file of the copied bundle.
    command = venv / ("Scripts/skelgraph-predict.exe" if os.name == "nt" else "bin/skelgraph-predict")
    sample = cache / "skelgraph/msr_action3d/raw/MSRAction3DSkeletonReal3D/a01_s10_e01_skeleton3D.txt"
    predicted = run([command, "--checkpoint", run_dir / "model.pt", sample, "--top", "3"], cwd=work, env=env)
    assert predicted.stdout.splitlines()[0].endswith("a01_s10_e01_skeleton3D.txt")

    assert files_under(venv) == before, "nothing written into the installation"
    assert not (purelib / "datasets").exists()
