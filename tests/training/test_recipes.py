"""Every recipe answers --help and runs one tiny epoch end to end on the bundled real data."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from skelgraph.predict import main as predict_main
from skelgraph.training.recipes import arrn_msr_main, arrn_ntu_main, gca_ntu_main, gca_sbu_main

ROOT = Path(__file__).resolve().parents[2]
RECIPES = sorted((ROOT / "recipes").glob("*.py"))
TINY_ARRN = ["--epochs", "1", "--T", "8", "--M", "8", "--E", "1", "--no-progress"]


def data_root(tmp_path, folder):
    """A data root whose raw/ is the bundled data and whose processed/ cache lives in tmp_path."""
    root = tmp_path / folder
    root.mkdir()
    (root / "raw").symlink_to(ROOT / "datasets" / folder / "raw")
    return str(root)


@pytest.mark.parametrize("recipe", RECIPES, ids=[r.stem for r in RECIPES])
def test_recipe_help(recipe):
    out = subprocess.run([sys.executable, str(recipe), "--help"], capture_output=True, text=True, cwd=ROOT,
                         timeout=120, env=dict(os.environ, PYTHONWARNINGS="ignore"))
    assert out.returncode == 0, out.stderr
    for option in ("--data-root", "--epochs", "--batch-size", "--device", "--resume", "--out"):
        assert option in out.stdout


def test_arrn_ntu_demo_and_predict(tmp_path, capsys):
    out = tmp_path / "run"
    result = arrn_ntu_main(["--data-root", data_root(tmp_path, "ntu_rgbd"), "--out", str(out), *TINY_ARRN])
    printed = capsys.readouterr().out
    assert "not in" in printed and "demonstration" in printed, "explains the missing full data set"
    assert result["test"]["samples"] == 2 and result["meta"]["dataset"]["full"] is False
    for name in ("best.pt", "last.pt", "metrics.json", "curves.png", "confusion.png", "attention.png"):
        assert (out / name).exists(), name
    sample = ROOT / "datasets/ntu_rgbd/raw/samples/S001C003P008R002A058.skeleton"
    assert predict_main(["--checkpoint", str(out / "best.pt"), str(sample), "--plot", str(tmp_path / "p.png"),
                         "--animate", str(tmp_path / "p.gif")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("S001C003P008R002A058.skeleton") and len(lines) == 6
    assert (tmp_path / "p.png").exists()
    from PIL import Image

    with Image.open(tmp_path / "p.gif") as gif:
        assert gif.n_frames == 8  # the sample's T = 8 frames, every one drawn
    # Resuming a finished run trains no further epoch and gives the same metrics.
    again = arrn_ntu_main(["--data-root", str(tmp_path / "ntu_rgbd"), "--out", str(out), "--resume", *TINY_ARRN])
    assert again["epochs"] == 1 and again["test"] == result["test"]


def test_predict_rejects_other_layout(tmp_path, capsys):
    out = tmp_path / "run"
    arrn_ntu_main(["--data-root", data_root(tmp_path, "ntu_rgbd"), "--out", str(out), *TINY_ARRN])
    sbu = ROOT / "datasets/sbu/raw/s01s02/01/001/skeleton_pos.txt"
    assert predict_main(["--checkpoint", str(out / "best.pt"), str(sbu)]) == 2
    assert "layout 'ntu'" in capsys.readouterr().err


def test_arrn_msr_tiny(tmp_path):
    out = tmp_path / "msr"
    summary = arrn_msr_main(["--data-root", data_root(tmp_path, "msr_action3d"), "--out", str(out), "--tiny",
                             "--subset", "AS1", *TINY_ARRN])
    assert summary["summary"]["n"] == 1
    saved = json.loads((out / "summary.json").read_text())
    assert 0.0 <= saved["per_fold"]["AS1"]["top1"] <= 1.0
    metrics = json.loads((out / "AS1" / "metrics.json").read_text())
    assert 0.0 <= metrics["alpha"] <= 1.0, "two-stream fusion weight chosen on validation"


@pytest.mark.parametrize("model,training,bodies", [("gca", "stepwise", "stacked"), ("gca2", "direct", "stacked"),
                                                   ("global1", "direct", "stacked"), ("gca", "direct", "separate")])
def test_gca_sbu_tiny(tmp_path, model, training, bodies):
    out = tmp_path / "sbu"
    summary = gca_sbu_main(["--data-root", data_root(tmp_path, "sbu"), "--out", str(out), "--tiny", "--folds", "0",
                            "--model", model, "--training", training, "--epochs", "2", "--T", "6", "--hidden", "8",
                            "--bodies", bodies, "--no-progress"])
    assert summary["summary"]["n"] == 1
    metrics = json.loads((out / "fold0" / "metrics.json").read_text())
    assert metrics["meta"]["training"] == training
    stacked = bodies == "stacked"
    assert metrics["meta"]["pipeline"]["stack_bodies"] == (2 if stacked else 0)
    assert metrics["meta"]["model"]["kwargs"]["in_channels"] == (6 if stacked else 3)
    assert metrics["test"]["samples"] > 0
    if model.startswith("gca"):
        assert (out / "fold0" / "attention.png").exists()
        sample = ROOT / "datasets/sbu/raw/s01s02/03/001/skeleton_pos.txt"
        assert predict_main(["--checkpoint", str(out / "fold0" / "best.pt"), str(sample)]) == 0


def test_gca_ntu_demo(tmp_path):
    result = gca_ntu_main(["--data-root", data_root(tmp_path, "ntu_rgbd"), "--out", str(tmp_path / "run"),
                           "--epochs", "1", "--T", "6", "--hidden", "8", "--model", "gca2", "--no-progress"])
    assert result["meta"]["training"] == "direct", "no validation split on the five samples: direct training"
    assert result["test"]["samples"] == 2
