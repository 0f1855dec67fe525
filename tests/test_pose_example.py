"""The bundled 2-D keypoint example (``datasets/msr_action3d_2d/``) is what its ``derive.py`` makes from the
bundled MSR Action3D files, every format in it reads, and the documented commands run on it as written."""

import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skelgraph.io.folder import read_sequence
from skelgraph.io.pyskl import read_pyskl
from skelgraph.skeleton import COCO17

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "datasets" / "msr_action3d_2d"


def _derive_module():
    spec = importlib.util.spec_from_file_location("derive_pose_example", EXAMPLE / "derive.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shipped_files_are_derived_from_the_bundled_msr_files(tmp_path):
    derive = _derive_module()
    derive.write(derive.derive(), tmp_path)
    shipped, fresh = read_pyskl(EXAMPLE / "msr_coco17.pkl"), read_pyskl(tmp_path / "msr_coco17.pkl")
    assert shipped.splits == fresh.splits
    assert len(shipped.annotations) == len(fresh.annotations) == 37
    for a, b in zip(shipped.annotations, fresh.annotations):
        assert a["frame_dir"] == b["frame_dir"] and a["label"] == b["label"]
        np.testing.assert_array_equal(a["keypoint"], b["keypoint"])
        np.testing.assert_array_equal(a["keypoint_score"], b["keypoint_score"])
    for name in ("classes.txt", "clip.json", "stream.jsonl"):
        assert (EXAMPLE / name).read_text() == (tmp_path / name).read_text(), name


def test_projection_keeps_the_pose_upright_and_in_the_image():
    derive = _derive_module()
    annotations = read_pyskl(EXAMPLE / "msr_coco17.pkl").annotations
    nose, ankle = COCO17.joints.index("nose"), COCO17.joints.index("left_ankle")
    for a in annotations:
        keypoint, score = a["keypoint"][0], a["keypoint_score"][0]
        assert keypoint.shape[1:] == (COCO17.num_joints, 2) and score.shape == keypoint.shape[:2]
        assert (keypoint[:, nose, 1] < keypoint[:, ankle, 1]).mean() > 0.95, "image y grows downwards"
        seen = score > 0
        assert (keypoint[seen] >= 0).all() and (keypoint[seen] <= [2 * derive.CX, 2 * derive.CY]).all()
        missing = [COCO17.joints.index(n) for n, msr in derive.COCO_FROM_MSR.items() if msr is None]
        assert (score[:, missing] == 0).all(), "eyes and ears have no Kinect joint"


def test_every_file_reads_as_the_documented_format():
    annotations = read_pyskl(EXAMPLE / "msr_coco17.pkl")
    classes = (EXAMPLE / "classes.txt").read_text().splitlines()
    assert sorted({a["label"] for a in annotations.annotations}) == list(range(len(classes)))
    first = annotations.splits["xsub_val"][0]
    (record,) = [a for a in annotations.annotations if a["frame_dir"] == first]
    seq = read_sequence(EXAMPLE / "clip.json", COCO17)
    np.testing.assert_allclose(seq.coords[:, 0], record["keypoint"][0], atol=1e-4)
    np.testing.assert_array_equal(seq.score[:, 0], record["keypoint_score"][0])
    frames = [json.loads(line) for line in (EXAMPLE / "stream.jsonl").read_text().splitlines()]
    assert len(frames) == len(seq.coords)
    np.testing.assert_allclose(np.array([f["keypoints"] for f in frames]), seq.coords[:, 0], atol=1e-4)


def documented_commands() -> list[str]:
    """The lines of the bash blocks of docs/data.md and README.md that use the example, in order, deduplicated."""
    lines: list[str] = []
    for page in (ROOT / "docs" / "data.md", ROOT / "README.md"):
        for block in re.findall(r"```bash\n(.*?)```", page.read_text(), re.S):
            lines += [line for line in block.splitlines() if "msr_action3d_2d" in line or "runs/arrn_coco" in line
                      or "runs/gca_coco" in line]
    return list(dict.fromkeys(lines))


def test_readme_pose_commands_are_among_the_documented_ones():
    docs = re.findall(r"```bash\n(.*?)```", (ROOT / "docs" / "data.md").read_text(), re.S)
    documented = {line for block in docs for line in block.splitlines()}
    readme = [line for block in re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
              for line in block.splitlines() if "msr_action3d_2d" in line]
    assert readme and set(readme) <= documented


@pytest.mark.slow
def test_documented_pose_commands_run_as_written(tmp_path):
    """Every documented line, verbatim, from a folder that has the repository's datasets/ (so runs/ is new)."""
    (tmp_path / "datasets").symlink_to(ROOT / "datasets")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "OMP_NUM_THREADS": "1"}
    commands = documented_commands()
    assert any(" --stream " in c for c in commands) and any("--class-names" in c for c in commands)
    outputs = []
    for command in commands:
        assert shlex.split(command)[0] == "python"
        out = subprocess.run(command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=600)
        assert out.returncode == 0, f"{command}\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}"
        outputs.append(out.stdout)
    classes = (EXAMPLE / "classes.txt").read_text().splitlines()
    predictions = "\n".join(o for c, o in zip(commands, outputs) if "skelgraph.predict" in c)
    assert any(name in predictions for name in classes), "class names from --class-names reach predict"
    assert (tmp_path / "runs" / "arrn_coco" / "model.pt").exists()
