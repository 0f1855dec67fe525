"""bench/screen_average.py on the bundled SBU data at toy sizes (2 epochs, hidden 8): its raw-weight curves are the
recipe's own inner cross-validation curves (the extra averages change no training step), it stops before the
final run, so no test data is read, and its inner folds run one per process and merged give the same screen."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_screen_raw_curves_are_the_recipes_inner_cv_curves(tmp_path):
    """Against the recipe's inner CV with the raw weights (--ema 0): its default 10-epoch average is not raw."""
    root = tmp_path / "sbu"
    root.mkdir()
    (root / "raw").symlink_to(ROOT / "datasets" / "sbu" / "raw")
    options = ["--data-root", str(root), "--tiny", "--folds", "0", "--selection", "inner-cv", "--epochs", "2",
               "--T", "6", "--hidden", "8", "--seed", "3"]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    subprocess.run([sys.executable, "bench/screen_average.py", "--horizons", "1", "3", "--save", "screen",
                    "--results", str(tmp_path), "--", "gca_lstm_sbu", *options], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=300)
    screen = json.loads((tmp_path / "screen.json").read_text())
    assert set(screen["variants"]) == {"raw", "ema1", "ema3"}
    out = tmp_path / "recipe"
    subprocess.run([sys.executable, "recipes/gca_lstm_sbu.py", *options, "--ema", "0", "--out", str(out),
                    "--no-progress"],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
    chosen = json.loads((out / "fold0" / "selection.json").read_text())
    assert screen["variants"]["raw"]["curves"] == chosen["curves"]
    assert screen["variants"]["raw"]["epoch"] == chosen["epoch"]
    for name in ("ema1", "ema3"):
        row = screen["variants"][name]
        assert len(row["curves"]) == 4 and all(len(c) == 2 for c in row["curves"]), "4 inner folds, 2 epochs"
    losses = screen["train_loss"]  # the raw weights' training loss per inner fold and epoch
    assert len(losses) == 4 and all(len(c) == 2 and all(v > 0 for v in c) for c in losses)
    assert "no test data" in screen["note"]


@pytest.mark.slow
def test_inner_folds_run_apart_and_merged_equal_the_sequential_screen(tmp_path):
    """ARRN-LSTM on MSR Action3D (two streams: the merged alpha and stream figures too), two inner folds."""
    root = tmp_path / "msr"
    root.mkdir()
    (root / "raw").symlink_to(ROOT / "datasets" / "msr_action3d" / "raw")
    screen = [sys.executable, "bench/screen_average.py", "--horizons", "2", "--results", str(tmp_path)]
    options = ["--", "arrn_msr", "--data-root", str(root), "--subset", "AS1", "--tiny", "--selection", "inner-cv",
               "--cv-folds", "2", "--epochs", "2", "--M", "4", "--E", "1", "--lstm-sizes", "8", "--seed", "1"]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    run = dict(cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
    subprocess.run([*screen, "--save", "whole", *options], **run)
    for i in (1, 0):  # any order
        subprocess.run([*screen, "--save", "apart", "--inner-fold", str(i), *options], **run)
    subprocess.run([*screen, "--save", "apart", "--merge", "2"], **run)
    whole = json.loads((tmp_path / "whole.json").read_text())
    apart = json.loads((tmp_path / "apart.json").read_text())
    assert apart["variants"] == whole["variants"]
    assert apart["train_loss"] == whole["train_loss"] and len(whole["train_loss"]) == 2
    assert set(apart["variants"]["raw"]) >= {"alpha", "fused_top1_chosen_alpha", "joint_top1", "line_top1"}
    assert apart["command"].endswith(" ".join(options[1:]))
    assert len(apart["inner_fold_commands"]) == 2
    bad = subprocess.run([*screen, "--save", "apart", "--merge", "3"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert bad.returncode != 0 and "apart.part2.json" in bad.stderr


@pytest.mark.slow
def test_merge_summarises_the_epochs_every_stopped_part_reached(tmp_path):
    """Parts stopped by SIGTERM (a lease's time limit) keep their finished epochs; --merge summarises the epochs
    every inner fold reached and says so. The parts here are written by the test (made-up curves)."""
    screened = {"recipe": "gca_lstm_sbu", "options": ["--epochs", "9"], "horizons": [10.0], "smooth": 1}
    curves = [[0.1, 0.5, 0.9, 0.2], [0.3, 0.7, 0.5]]  # fold 0 reached 4 epochs, fold 1 only 3
    for i, curve in enumerate(curves):
        measured = {"sizes": [10], "train_loss": [[2.0 - e for e in range(len(curve))]],
                    "variants": {v: {"curves": [curve], "scores": None} for v in ("raw", "ema10")}}
        (tmp_path / f"s.part{i}.json").write_text(json.dumps(
            {"command": f"part {i}", "minutes": 1.0, "complete": False, "measured": measured, "screened": screened}))
    subprocess.run([sys.executable, "bench/screen_average.py", "--merge", "2", "--save", "s", "--smooth", "1",
                    "--results", str(tmp_path)], cwd=ROOT, check=True, capture_output=True, timeout=120)
    merged = json.loads((tmp_path / "s.json").read_text())
    raw = merged["variants"]["raw"]
    assert raw["curves"] == [curves[0][:3], curves[1]]
    assert raw["mean_curve"] == pytest.approx([0.2, 0.6, 0.7]) and raw["epoch"] == 3
    assert merged["train_loss"] == [[2.0, 1.0, 0.0], [2.0, 1.0, 0.0]]
    assert "[4, 3] epochs" in merged["stopped_early"]
    assert merged["command"].endswith("-- gca_lstm_sbu --epochs 9")
