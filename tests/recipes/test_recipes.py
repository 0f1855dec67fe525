"""Every recipe answers --help and runs one tiny epoch end to end on the bundled real data."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from skelgraph.predict import main as predict_main
from skelgraph.recipes.arrn_msr import main as arrn_msr_main
from skelgraph.recipes.arrn_ntu import main as arrn_ntu_main
from skelgraph.recipes.gca_lstm_ntu import main as gca_ntu_main
from skelgraph.recipes.gca_lstm_sbu import main as gca_sbu_main
from skelgraph.recipes.gca_lstm_utkinect import main as utk_gca_main

ROOT = Path(__file__).resolve().parents[2]
RECIPES = sorted((ROOT / "recipes").glob("*.py"))
TINY_ARRN = ["--epochs", "1", "--T", "8", "--M", "8", "--E", "1", "--no-progress"]


def printed_config(main, argv, capsys):
    """What ``main(argv + ["--print-config"])`` prints (it exits with code 0 before touching any data), its parts
    merged into one mapping of field names."""
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--print-config"])
    assert exit_info.value.code == 0
    printed = json.loads(capsys.readouterr().out)
    return {k: v for part in ("data", "model", "optim", "protocol", "run") for k, v in printed[part].items()}


def refused(main, argv, capsys):
    """The one line ``main(argv)`` exits with (code 2) when the configuration is refused at parse time."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def data_root(tmp_path, folder):
    """A data root whose raw/ is the bundled data and whose processed/ cache lives in tmp_path."""
    root = tmp_path / folder
    root.mkdir()
    (root / "raw").symlink_to(ROOT / "datasets" / folder / "raw")
    return str(root)


@pytest.mark.slow
@pytest.mark.parametrize("recipe", RECIPES, ids=[r.stem for r in RECIPES])
def test_recipe_help(recipe):
    out = subprocess.run([sys.executable, str(recipe), "--help"], capture_output=True, text=True, cwd=ROOT,
                         timeout=120, env=dict(os.environ, PYTHONWARNINGS="ignore"))
    assert out.returncode == 0, out.stderr
    for option in ("--data-root", "--epochs", "--batch-size", "--device", "--resume", "--out"):
        assert option in out.stdout


@pytest.mark.slow
def test_arrn_ntu_demo_and_predict(tmp_path, capsys):
    out = tmp_path / "run"
    # --keep resume: the demonstration keeps model.pt only by default; this run is resumed below
    result = arrn_ntu_main(["--data-root", data_root(tmp_path, "ntu_rgbd"), "--out", str(out), *TINY_ARRN,
                            "--keep", "resume"])
    printed = capsys.readouterr().out
    assert "not in" in printed and "demonstration" in printed, "explains the missing full data set"
    assert result["test"]["samples"] == 2 and result["meta"]["dataset"]["full"] is False
    for name in ("model.pt", "last.pt", "metrics.json", "curves.png", "confusion.png", "attention.png"):
        assert (out / name).exists(), name
    sample = ROOT / "datasets/ntu_rgbd/raw/samples/S001C003P008R002A058.skeleton"
    assert predict_main(["--checkpoint", str(out / "model.pt"), str(sample), "--plot", str(tmp_path / "p.png"),
                         "--animate", str(tmp_path / "p.gif")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("S001C003P008R002A058.skeleton") and len(lines) == 6
    assert (tmp_path / "p.png").exists()
    from PIL import Image

    with Image.open(tmp_path / "p.gif") as gif:
        assert gif.n_frames == 8  # the sample's T = 8 frames, every one drawn
    # Resuming a finished run trains no further epoch and gives the same metrics.
    again = arrn_ntu_main(["--data-root", str(tmp_path / "ntu_rgbd"), "--out", str(out), "--resume", *TINY_ARRN,
                           "--keep", "resume"])
    assert again["epochs"] == 1 and again["test"] == result["test"]


@pytest.mark.slow
def test_predict_rejects_other_layout(tmp_path, capsys):
    out = tmp_path / "run"
    arrn_ntu_main(["--data-root", data_root(tmp_path, "ntu_rgbd"), "--out", str(out), *TINY_ARRN])
    sbu = ROOT / "datasets/sbu/raw/s01s02/01/001/skeleton_pos.txt"
    assert predict_main(["--checkpoint", str(out / "model.pt"), str(sbu)]) == 2
    assert "layout 'ntu'" in capsys.readouterr().err


@pytest.mark.slow
def test_arrn_msr_tiny(tmp_path):
    out = tmp_path / "msr"
    summary = arrn_msr_main(["--data-root", data_root(tmp_path, "msr_action3d"), "--out", str(out), "--tiny",
                             "--subset", "AS1", *TINY_ARRN, "--selection", "val-split"])
    assert summary["summary"]["n"] == 1
    saved = json.loads((out / "summary.json").read_text())
    assert 0.0 <= saved["per_fold"]["AS1"]["top1"] <= 1.0
    metrics = json.loads((out / "AS1" / "metrics.json").read_text())
    assert 0.0 <= metrics["alpha"] <= 1.0 and "val" in metrics, "two-stream fusion weight chosen on validation"


def test_arrn_msr_no_line_velocity_gives_the_line_stream_position_offsets(tmp_path):
    """With velocity channels (the MSR default) and --no-line-velocity, the checkpoint's model takes its line
    offsets from the 3 coordinates only (line_channels 3: 3 x 19 inputs per line node) while the joint stream reads
    all 6 features, and it reloads as that model."""
    from skelgraph.inference import load_for_inference

    out = tmp_path / "msr"
    arrn_msr_main(["--data-root", data_root(tmp_path, "msr_action3d"), "--out", str(out), "--tiny", "--subset",
                   "AS1", *TINY_ARRN, "--no-line-velocity"])
    model = load_for_inference(out / "AS1" / "model.pt").model
    assert model.config.in_channels == 6 and model.config.line_channels == 3
    assert model.streams["line"].embed.in_features == 3 * 19 and model.streams["joint"].embed.in_features == 6


def test_arrn_msr_rrn_over_the_bones_stores_the_layouts_bones_and_reloads(tmp_path):
    """--rrn-graph bones: the checkpoint's model runs its RRN over MSR's 19 bones (joint indices of the layout,
    messages both ways) and reloads as that model."""
    from skelgraph.inference import load_for_inference
    from skelgraph.skeleton import MSR_ACTION3D

    out = tmp_path / "msr"
    arrn_msr_main(["--data-root", data_root(tmp_path, "msr_action3d"), "--out", str(out), "--tiny", "--subset",
                   "AS1", *TINY_ARRN, "--rrn-graph", "bones"])
    model = load_for_inference(out / "AS1" / "model.pt").model
    bones = {(MSR_ACTION3D.index(a), MSR_ACTION3D.index(b)) for a, b in MSR_ACTION3D.bones}
    assert set(model.config.edges) == bones and len(bones) == 19
    assert model.streams["joint"].edge_index.size(1) == 38


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["msr", "florence", "utkinect"])
def test_small_data_arrn_defaults_train_velocity_and_keep_the_weight_average(tmp_path, utk_data, recipe, capsys):
    """MSR Action3D, Florence 3D and UTKinect: Adam at a constant rate, velocity channels, gradient norm clipped at
    5, 100 epochs, no selection (no validation split), alpha 0.5 and the weight average's last epoch tested;
    --no-velocity and --paper-setting take the paper's coordinates-only, unclipped, validation-split protocol back."""
    from skel_io_helpers import write_florence

    from skelgraph.recipes.arrn_florence import main as florence_main
    from skelgraph.recipes.arrn_utkinect import main as utk_main

    if recipe == "msr":
        main, data, run = arrn_msr_main, ["--data-root", data_root(tmp_path, "msr_action3d"), "--tiny", "--subset",
                                          "AS1"], "AS1"
    elif recipe == "florence":  # the bundled copy has no joints: a synthetic file in the original format
        (tmp_path / "florence" / "raw").mkdir(parents=True)
        write_florence(tmp_path / "florence" / "raw" / "Florence_dataset_WorldCoordinates.txt",
                       [(v, 1 + v % 3, 1 + v % 9, 5 + v % 4) for v in range(1, 19)])
        main, data, run = florence_main, ["--data-root", str(tmp_path / "florence"), "--folds", "0"], "fold0"
    else:
        main, data, run = utk_main, ["--data-root", utk_data], "fold0"
    printed = printed_config(main, data, capsys)
    assert (printed["epochs"], printed["grad_clip"]) == (100, 5.0)
    tiny = [*data, *TINY_ARRN, "--epochs", "2"]
    main([*tiny, "--out", str(tmp_path / "default")])
    metrics = json.loads((tmp_path / "default" / run / "metrics.json").read_text())
    config = metrics["config"]
    assert (config["optimizer"], config["schedule"], config["ema_epochs"], config["grad_clip"]) == ("adam", "none",
                                                                                                   10.0, 5.0)
    assert metrics["meta"]["selection"] == "none" and "val" not in metrics and metrics["alpha"] == 0.5
    assert metrics["meta"]["pipeline"]["velocity"] and metrics["meta"]["model"]["kwargs"]["in_channels"] == 6
    main([*tiny, "--out", str(tmp_path / "plain"), "--no-velocity", "--readout", "mean", "--lstm-sizes", "6", "5",
          "--weight-decay", "0.01", "--center", "sequence"])
    plain = json.loads((tmp_path / "plain" / run / "metrics.json").read_text())
    assert not plain["meta"]["pipeline"]["velocity"] and plain["meta"]["model"]["kwargs"]["in_channels"] == 3
    assert plain["meta"]["pipeline"]["center"] == "sequence" and "center" not in metrics["meta"]["pipeline"]
    kwargs = plain["meta"]["model"]["kwargs"]
    assert kwargs["readout"] == "mean" and list(kwargs["lstm_sizes"]) == [6, 5]
    assert plain["config"]["weight_decay"] == 0.01 and config["weight_decay"] == 0.0
    main([*tiny, "--out", str(tmp_path / "paper"), "--paper-setting"])
    paper = json.loads((tmp_path / "paper" / run / "metrics.json").read_text())
    assert paper["meta"]["selection"] == "val-split" and "val" in paper and paper["config"]["ema_epochs"] == 0.0
    assert not paper["meta"]["pipeline"]["velocity"] and paper["config"]["grad_clip"] is None
    assert paper["meta"]["model"]["kwargs"]["readout"] == "last_valid"


@pytest.mark.slow
def test_arrn_fixed_alpha_fuses_training_curves_and_test(tmp_path, capsys):
    import torch

    root = data_root(tmp_path, "msr_action3d")
    tiny = ["--data-root", root, "--tiny", "--subset", "AS1", *TINY_ARRN, "--selection", "none"]
    arrn_msr_main([*tiny, "--out", str(tmp_path / "fixed"), "--alpha", "0.25"])
    metrics = json.loads((tmp_path / "fixed" / "AS1" / "metrics.json").read_text())
    assert metrics["alpha"] == 0.25 and metrics["meta"]["model"]["kwargs"]["alpha"] == 0.25
    exported = torch.load(tmp_path / "fixed" / "AS1" / "model.pt", weights_only=True)
    assert float(exported["model"]["alpha"]) == 0.25, "the export classifies with the fixed weight"
    arrn_msr_main([*tiny, "--out", str(tmp_path / "none")])
    assert json.loads((tmp_path / "none" / "AS1" / "metrics.json").read_text())["alpha"] == 0.5
    assert "--alpha must be <= 1, got 1.5" in refused(arrn_msr_main, [*tiny, "--out", str(tmp_path / "bad"),
                                                                   "--alpha", "1.5"], capsys)


@pytest.mark.parametrize("model,training,bodies", [("gca", "stepwise", "stacked"), ("gca2", "direct", "stacked"),
                                                   ("global1", "direct", "stacked"), ("gca", "direct", "separate")])
@pytest.mark.slow
def test_gca_sbu_tiny(tmp_path, model, training, bodies):
    out = tmp_path / "sbu"
    summary = gca_sbu_main(["--data-root", data_root(tmp_path, "sbu"), "--out", str(out), "--tiny", "--folds", "0",
                            "--model", model, "--training", training, "--epochs", "2", "--T", "6", "--hidden", "8",
                            "--bodies", bodies, "--no-progress", "--selection", "val-split"])
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
        assert predict_main(["--checkpoint", str(out / "fold0" / "model.pt"), str(sample)]) == 0


def test_gca_sbu_trust_gate_st_lstm_trains_and_rebuilds_from_its_checkpoint(tmp_path, capsys):
    out = tmp_path / "sbu"
    common = ["--data-root", data_root(tmp_path, "sbu"), "--tiny", "--folds", "0", "--epochs", "1", "--T", "6",
              "--hidden", "8", "--no-progress", "--selection", "val-split", "--trust-gate"]
    gca_sbu_main(common + ["--out", str(out), "--model", "st-lstm"])
    metrics = json.loads((out / "fold0" / "metrics.json").read_text())
    assert metrics["meta"]["model"]["kwargs"]["trust_gate"] is True
    sample = ROOT / "datasets/sbu/raw/s01s02/03/001/skeleton_pos.txt"
    assert predict_main(["--checkpoint", str(out / "fold0" / "model.pt"), str(sample)]) == 0
    assert "--trust-gate applies to the ST-LSTM baselines" in refused(
        gca_sbu_main, common + ["--out", str(tmp_path / "gca"), "--model", "gca"], capsys)


@pytest.mark.slow
def test_gca_sbu_stepwise_defaults_hold_out_nothing_and_give_each_step_a_fixed_share(tmp_path, capsys):
    """Under the small-data defaults (--selection none) stepwise training holds out no validation split: each of
    the N + 1 steps trains --epochs / (N + 1) epochs and the last is tested. Inner CV cannot choose a stepwise
    schedule and a fixed schedule needs a positive per-step bound: both refused with a clear message."""
    tiny = ["--data-root", data_root(tmp_path, "sbu"), "--tiny", "--folds", "0", "--training", "stepwise",
            "--epochs", "6", "--T", "6", "--hidden", "8", "--no-progress"]
    gca_sbu_main([*tiny, "--out", str(tmp_path / "fixed")])
    metrics = json.loads((tmp_path / "fixed" / "fold0" / "metrics.json").read_text())
    assert metrics["meta"]["training"] == "stepwise" and metrics["meta"]["selection"] == "none"
    assert metrics["config"]["stepwise_max_epochs"] == 2 and "val" not in metrics
    assert metrics["stepwise_reached"] == 2 and metrics["stepwise_completed"] is True
    assert metrics["best_epoch"] == metrics["epochs"] == 6
    steps = [json.loads(line)["step"] for line in (tmp_path / "fixed" / "fold0" / "log.jsonl").read_text().splitlines()]
    assert steps == [0, 0, 1, 1, 2, 2]
    assert "inner cross-validation does not choose its schedule" in refused(
        gca_sbu_main, [*tiny, "--out", str(tmp_path / "inner"), "--selection", "inner-cv"], capsys)
    assert "give it a positive value" in refused(
        gca_sbu_main, [*tiny, "--out", str(tmp_path / "unbounded"), "--stepwise-max-epochs", "0"], capsys)


@pytest.mark.slow
def test_gca_ntu_demo(tmp_path):
    result = gca_ntu_main(["--data-root", data_root(tmp_path, "ntu_rgbd"), "--out", str(tmp_path / "run"),
                           "--epochs", "1", "--T", "6", "--hidden", "8", "--model", "gca2", "--no-progress"])
    assert result["meta"]["training"] == "direct", "no validation split on the five samples: direct training"
    assert result["test"]["samples"] == 2
    kept = {p.name for p in (tmp_path / "run").glob("*.pt")}
    assert kept == {"model.pt"}, "the demonstration keeps model.pt only, no last.pt (--keep model)"


def test_ntu_demo_settings_show_in_print_config(tmp_path, capsys):
    """Without the full NTU set the recipes run a demonstration (no validation split, model.pt kept only; ARRN:
    4 epochs at batch 4 unless given; GCA: 3 epochs at batch 4, direct training unless --training stepwise is
    given). --print-config prints those settings, not the full-set defaults, and a data root holding the full set
    keeps the recipe's own."""
    root = data_root(tmp_path, "ntu_rgbd")

    def printed(main, *argv):
        return printed_config(main, ["--data-root", root, *argv], capsys)

    demo = printed(arrn_ntu_main)
    assert (demo["epochs"], demo["batch_size"], demo["val_fraction"], demo["keep"]) == (4, 4, 0.0, "model")
    assert printed(arrn_ntu_main, "--keep", "resume")["keep"] == "resume"
    assert printed(arrn_ntu_main, "--epochs", "7")["epochs"] == 7, "an option given wins"
    assert printed(gca_ntu_main)["training"] == "direct", "the demonstration trains directly unless told"
    assert (printed(gca_ntu_main)["epochs"], printed(gca_ntu_main)["batch_size"]) == (3, 4)
    stepwise = printed(gca_ntu_main, "--training", "stepwise")
    assert (stepwise["training"], stepwise["selection"]) == ("stepwise", "none"), "a fixed share of epochs per step"
    full = tmp_path / "full_ntu"
    from skelgraph.datasets.ntu import FULL_DIR

    (full / "raw" / FULL_DIR).mkdir(parents=True)
    root = str(full)
    assert (printed(arrn_ntu_main)["epochs"], printed(gca_ntu_main, "--training", "stepwise")["training"]) == (
        60, "stepwise")


@pytest.mark.slow
def test_same_seed_gives_byte_identical_metrics_and_another_seed_differs(tmp_path):
    """Two runs of one recipe command with one --seed write the same metrics.json, byte for byte."""
    root = data_root(tmp_path, "msr_action3d")
    args = ["--data-root", root, "--tiny", "--subset", "AS1", *TINY_ARRN, "--epochs", "2", "--dropout", "0.2",
            "--selection", "val-split"]
    runs = {}
    for name, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        arrn_msr_main([*args, "--out", str(tmp_path / name), "--seed", seed])
        runs[name] = (tmp_path / name / "AS1" / "metrics.json").read_bytes()
    assert runs["a"] == runs["b"]
    assert json.loads(runs["a"])["config"]["seed"] == 3
    a, c = json.loads(runs["a"]), json.loads(runs["c"])
    assert a["val"] != c["val"] or a["test"] != c["test"], "another seed gives another run"
    # A fold run alone equals the same fold run after another (every fold starts from the seed).
    arrn_msr_main([*args[:4], "AS2", "AS1", *args[5:], "--out", str(tmp_path / "d"), "--seed", "3"])
    assert (tmp_path / "d" / "AS1" / "metrics.json").read_bytes() == runs["a"]


@pytest.fixture
def utk_data(tmp_path):
    """A synthetic UTKinect-Action3D copy in the original format (random joints, not real data): 4 subjects x 2
    recordings, three actions each."""
    sys.path.insert(0, str(ROOT / "tests" / "io"))
    from skel_io_helpers import write_utkinect

    recordings = {f"s{s:02d}_e{e:02d}": [("walk", 1, 8), ("sitDown", 10, 17), ("pickUp", 19, 26)]
                  for s in (1, 2, 3, 4) for e in (1, 2)}
    write_utkinect(tmp_path / "utk" / "raw", recordings, nan_entry=False)
    return str(tmp_path / "utk")


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["gca", "arrn"])
def test_utkinect_recipes_cross_subject_and_lean_leave_one_out(tmp_path, utk_data, recipe):
    from skelgraph.recipes.arrn_utkinect import main as arrn_main
    from skelgraph.recipes.gca_lstm_utkinect import main as gca_main

    if recipe == "gca":
        main, tiny = gca_main, ["--T", "6", "--hidden", "8", "--training", "stepwise", "--epochs", "3"]
    else:
        main, tiny = arrn_main, TINY_ARRN
    xsub = main(["--data-root", utk_data, "--out", str(tmp_path / "xsub"), "--val-fraction", "0.25", *tiny])
    assert xsub["summary"]["samples"] == 12 and (tmp_path / "xsub" / "fold0" / "model.pt").exists()
    if recipe == "gca":
        metrics = json.loads((tmp_path / "xsub" / "fold0" / "metrics.json").read_text())
        assert metrics["config"]["optimizer"] == "adam" and metrics["config"]["stepwise_max_epochs"] == 1
        assert metrics["stepwise_reached"] == 2, "one epoch per step: every step trained"
    loso = main(["--data-root", utk_data, "--protocol", "loso", "--folds", "0", "5", "--out", str(tmp_path / "loso"),
                 "--val-fraction", "0.25", *tiny])
    written = sorted(p.name for p in (tmp_path / "loso").iterdir())
    assert written == ["summary.json"], "leave-one-out folds write no checkpoints, plots or folders"
    saved = json.loads((tmp_path / "loso" / "summary.json").read_text())
    assert saved["summary"]["samples"] == 2 and set(saved["per_fold"]) == {"0", "5"}
    assert saved["summary"]["pooled_top1"] == loso["summary"]["pooled_top1"] in (0.0, 0.5, 1.0)


@pytest.mark.slow
def test_the_readme_recipe_for_a_new_dataset_runs(tmp_path, monkeypatch):
    """README's 'A recipe for a new dataset', as written but for one epoch, on MSR Action3D AS1 standing in for the
    user's folder."""
    import re

    import skelgraph.datasets
    from skelgraph.datasets import MSRAction3D

    root = data_root(tmp_path, "msr_action3d")

    def my_folder(path, layout, split):
        assert (path, layout) == ("my_data", "ntu")
        return MSRAction3D(root, subset="AS1", split=split)[:: 8 if split == "train" else 12]

    monkeypatch.setattr(skelgraph.datasets, "SkeletonFolder", my_folder)
    monkeypatch.chdir(tmp_path)
    section = (ROOT / "README.md").read_text().split("## A recipe for a new dataset")[1].split("\n## ")[0]
    (block,) = re.findall(r"```python\n(.*?)```", section, re.S)
    assert "epochs=60" in block
    namespace: dict = {}
    exec(compile(block.replace("epochs=60", "epochs=1"), "README.md", "exec"), namespace)
    assert (tmp_path / "runs" / "mine" / "summary.json").exists()
    metrics = json.loads((tmp_path / "runs" / "mine" / "all" / "metrics.json").read_text())
    assert metrics["config"]["optimizer"] == "adam" and metrics["meta"]["model"]["kwargs"]["num_frames"] == 30
    config = json.loads((tmp_path / "runs" / "mine" / "all" / "config.json").read_text())
    assert config == namespace["config"].to_dict(), "the run folder holds the configuration, replayable"


@pytest.mark.slow
def test_recipes_run_as_modules():
    out = subprocess.run([sys.executable, "-m", "skelgraph.recipes.gca_lstm_sbu", "--help"], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0 and "--stepwise-max-epochs" in out.stdout


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["arrn", "gca"])
def test_inner_cross_validation_chooses_on_training_groups_only(tmp_path, recipe):
    """--selection inner-cv holds out every group of the training split once, fixes the epoch budget (and
    alpha) from the mean validation curve, trains on the whole training split for that budget and tests its
    last epoch; the test split's per-epoch curve is logged as optimistic and chooses nothing."""
    if recipe == "arrn":
        root = data_root(tmp_path, "msr_action3d")
        main = arrn_msr_main
        args = ["--tiny", "--subset", "AS1", *TINY_ARRN, "--epochs", "3", "--cv-groups", "subject", "--cv-folds", "2"]
        run_dir = tmp_path / "run" / "AS1"
    else:
        root = data_root(tmp_path, "sbu")
        main = gca_sbu_main
        args = ["--tiny", "--folds", "0", "--training", "direct", "--epochs", "3", "--T", "6", "--hidden", "8",
                "--swap", "0.5", "--velocity", "--no-progress"]
        run_dir = tmp_path / "run" / "fold0"
    main(["--data-root", root, "--out", str(tmp_path / "run"), "--selection", "inner-cv", *args])
    chosen = json.loads((run_dir / "selection.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    expected_groups = [[1, 5, 9], [3, 7]] if recipe == "arrn" else [[1], [2], [3], [4]]
    assert chosen["held_out"] == expected_groups, "every training group held out once, never the test fold"
    assert len(chosen["curves"]) == len(expected_groups) and all(len(c) == 3 for c in chosen["curves"])
    assert 1 <= chosen["epoch"] <= 3 and metrics["epochs"] == chosen["epoch"] == metrics["best_epoch"]
    assert metrics["config"]["epochs"] == chosen["epoch"] and "val" not in metrics
    assert metrics["optimistic_best_test"]["epoch"] <= chosen["epoch"]
    if recipe == "arrn":
        assert metrics["alpha"] == chosen["alpha"]
    else:
        assert metrics["meta"]["pipeline"]["velocity"] and metrics["meta"]["model"]["kwargs"]["in_channels"] == 12


@pytest.mark.slow
def test_paper_setting_restores_the_papers_protocol_and_explicit_options_win(tmp_path):
    root = data_root(tmp_path, "sbu")
    tiny = ["--data-root", root, "--tiny", "--folds", "0", "--training", "direct", "--epochs", "1", "--T", "6",
            "--hidden", "8", "--no-progress", "--swap", "0.5"]
    gca_sbu_main([*tiny, "--out", str(tmp_path / "paper"), "--paper-setting", "--lr", "0.002"])
    metrics = json.loads((tmp_path / "paper" / "fold0" / "metrics.json").read_text())
    config = metrics["config"]
    assert (config["optimizer"], config["schedule"], config["lr_decay"], config["momentum"]) == ("sgd", "exponential",
                                                                                               0.95, 0.9)
    assert config["lr"] == 0.002, "an explicit option beats the paper's value"
    assert metrics["meta"]["selection"] == "val-split" and "val" in metrics
    assert metrics["meta"]["pipeline"]["augment"]["swap"] == 0.5, "explicitly asked for"


@pytest.mark.parametrize("given, model, epochs", [([], "st-lstm", (300, 678, 343)),
                                                   (["--paper-setting"], "st-lstm", (300, 678, 343)),
                                                   (["--epochs", "7"], "st-lstm", (7, 7, 7)),
                                                   ([], "gca", (60, 60, 60)), ([], "global1", (60, 60, 60)),
                                                   ([], "global2", (240, 543, 274)),
                                                   (["--trust-gate"], "st-lstm", (320, 724, 366)),
                                                   (["--trust-gate"], "global2", (320, 724, 366)),
                                                   (["--trust-gate"], "global1", (60, 60, 60)),
                                                   (["--trust-gate", "--epochs", "9"], "st-lstm", (9, 9, 9))])
@pytest.mark.parametrize("column, main, protocol", [(0, gca_sbu_main, []), (1, utk_gca_main, ["--protocol", "xsub"]),
                                                    (2, utk_gca_main, ["--protocol", "loso"])],
                         ids=["sbu", "utkinect-xsub", "utkinect-loso"])
def test_stlstm_trains_for_its_own_budget_unless_epochs_is_given(capsys, column, main, protocol, given, model,
                                                                 epochs):
    """ST-LSTM and ST-LSTM + Global (2) learn far more slowly than GCA-LSTM: on the small datasets their budgets are
    ST_LSTM_EPOCHS and GLOBAL2_EPOCHS, with the trust gate TRUST_GATE_EPOCHS (all chosen by inner CV on SBU's 226
    training sequences per fold), unless --epochs is given; the other models keep the recipes' 60. UTKinect's
    training splits are smaller (about 100 clips cross-subject, 198 leave-one-out) and get the same optimiser steps:
    300 x 226 / 100 rounded up is 678. --print-config shows the budget the run will use, before touching any data."""
    from skelgraph.recipes.defaults import GLOBAL2_EPOCHS, SBU_TRAIN_SEQUENCES, ST_LSTM_EPOCHS, TRUST_GATE_EPOCHS

    printed = printed_config(main, ["--model", model, "--data-root", "/nonexistent", *protocol, *given], capsys)
    assert (ST_LSTM_EPOCHS, GLOBAL2_EPOCHS, TRUST_GATE_EPOCHS, SBU_TRAIN_SEQUENCES) == (300, 240, 320, 226)
    assert printed["epochs"] == epochs[column]


def test_same_steps_keeps_the_optimiser_steps_of_a_budget():
    """Epochs x training sequences (the samples seen: the steps at one batch size) reach the reference budget's with
    less than one epoch to spare, for any split size."""
    from skelgraph.recipes.defaults import same_steps

    for n in (37, 100, 198, 226, 500):
        epochs = same_steps(240, n, reference=226)
        assert epochs * n >= 240 * 226 > (epochs - 1) * n
    assert same_steps(240, 226, reference=226) == 240
    with pytest.raises(ValueError, match="positive"):
        same_steps(240, 0)


@pytest.mark.parametrize("recipe", ["sbu", "utkinect"])
@pytest.mark.parametrize("given, model, clip", [([], "global2", 5.0), ([], "st-lstm", None), ([], "gca", None),
                                                ([], "global1", None), (["--trust-gate"], "global2", 5.0),
                                                (["--grad-clip", "2"], "global2", 2.0),
                                                (["--grad-clip", "2"], "gca", 2.0),
                                                (["--paper-setting"], "global2", None)])
def test_global2_clips_the_gradient_norm_unless_told_otherwise(capsys, recipe, given, model, clip):
    """ST-LSTM + Global (2) alone has loss spikes from single huge steps: it clips the gradient norm at
    GLOBAL2_GRAD_CLIP (chosen by inner CV on SBU's training folds) unless --grad-clip or --paper-setting says
    otherwise; the other models keep no clipping."""
    from skelgraph.recipes.defaults import GLOBAL2_GRAD_CLIP

    main = gca_sbu_main if recipe == "sbu" else utk_gca_main
    printed = printed_config(main, ["--model", model, "--data-root", "/nonexistent", *given], capsys)
    assert GLOBAL2_GRAD_CLIP == 5.0 and printed["grad_clip"] == clip


@pytest.mark.parametrize("recipe", ["sbu", "utkinect", "msr"])
def test_print_config_shows_the_paper_setting_the_run_will_use(capsys, recipe):
    """--paper-setting replaces the recipe's defaults with the paper's protocol; --print-config prints the
    options after that step (it printed Adam for an SGD run before), and an explicit option still wins."""
    main = {"sbu": gca_sbu_main, "utkinect": utk_gca_main, "msr": arrn_msr_main}[recipe]
    printed = printed_config(main, ["--data-root", "/nonexistent", "--paper-setting", "--lr", "0.002"], capsys)
    assert printed["paper_setting"] and printed["selection"] == "val-split" and printed["lr"] == 0.002
    if recipe == "msr":
        assert (printed["optimizer"], printed["grad_clip"], printed["velocity"]) == ("adam", None, False)
    else:
        assert (printed["optimizer"], printed["lr_decay"], printed["ema"]) == ("sgd", 0.95, 0.0)


@pytest.mark.slow
def test_small_data_gca_defaults_choose_nothing_and_keep_the_weight_average(tmp_path, utk_data):
    """UTKinect (both protocols) and SBU: Adam at a constant rate, direct training, no selection (no validation
    split, no inner runs), the weight average's last epoch tested; --selection inner-cv still holds out every
    training subject once."""
    from skelgraph.recipes.gca_lstm_utkinect import main

    tiny = ["--data-root", utk_data, "--T", "6", "--hidden", "8", "--epochs", "2", "--no-progress"]
    runs = {"xsub": main([*tiny, "--out", str(tmp_path / "xsub")]),
            "loso": main([*tiny, "--protocol", "loso", "--folds", "0", "--out", str(tmp_path / "loso"),
                          "--save-fold-runs"])}
    for name, summary in runs.items():
        assert "selection" not in summary["per_fold"]["0"], name
        metrics = json.loads((tmp_path / name / "fold0" / "metrics.json").read_text())
        config = metrics["config"]
        assert (config["optimizer"], config["schedule"], config["ema_epochs"]) == ("adam", "none", 10.0), name
        assert metrics["meta"]["training"] == "direct" and metrics["meta"]["selection"] == "none"
        assert "val" not in metrics and metrics["best_epoch"] == metrics["epochs"] == 2, "the last epoch"
    sbu = gca_sbu_main(["--data-root", data_root(tmp_path, "sbu"), "--out", str(tmp_path / "sbu"), "--tiny",
                        "--folds", "0", "--epochs", "1", "--T", "6", "--hidden", "8", "--no-progress"])
    metrics = json.loads((tmp_path / "sbu" / "fold0" / "metrics.json").read_text())
    assert metrics["config"]["ema_epochs"] == 10.0 and metrics["meta"]["selection"] == "none"
    assert metrics["meta"]["pipeline"]["augment"]["swap"] == 0.5 and "selection" not in sbu["per_fold"]["0"]
    inner = main([*tiny, "--out", str(tmp_path / "inner"), "--selection", "inner-cv"])
    chosen = inner["per_fold"]["0"]["selection"]
    assert chosen["method"] == "inner-cv" and chosen["held_out"] == [[1], [3]], "training subjects 1 and 3"


@pytest.mark.slow
def test_cosine_schedule_keeps_the_epoch_budget_under_inner_cross_validation(tmp_path, capsys):
    """--cosine anneals over --epochs, so inner cross-validation cannot pick an earlier epoch as the budget (that
    epoch of a longer cosine run is not a run of its length): the final run trains --epochs, alpha is chosen
    there, and the learning rate falls along the half cosine. --cosine with a decay is refused."""
    root = data_root(tmp_path, "msr_action3d")
    args = ["--data-root", root, "--tiny", "--subset", "AS1", *TINY_ARRN, "--epochs", "3", "--cv-groups", "subject",
            "--cv-folds", "2", "--cosine", "--lr", "0.004"]
    arrn_msr_main([*args, "--out", str(tmp_path / "run"), "--selection", "inner-cv"])
    chosen = json.loads((tmp_path / "run" / "AS1" / "selection.json").read_text())
    metrics = json.loads((tmp_path / "run" / "AS1" / "metrics.json").read_text())
    assert chosen["epoch"] == 3 and metrics["epochs"] == 3 and metrics["config"]["schedule"] == "cosine"
    lrs = [json.loads(line)["lr"] for line in (tmp_path / "run" / "AS1" / "log.jsonl").read_text().splitlines()]
    assert lrs == pytest.approx([0.004, 0.003, 0.001])
    assert "--lr-decay 1" in refused(arrn_msr_main, [*args, "--out", str(tmp_path / "both"), "--lr-decay", "0.9"],
                                     capsys)


def test_gca_msr_tiny_trains_and_its_slow_baselines_take_the_steps_of_sbus_budgets(tmp_path, capsys):
    """The MSR ladder's GCA rung: GCA-LSTM on an MSR subset (bundled data) trains and tests; ST-LSTM's budget is
    SBU's optimiser steps for an MSR subset's 114 training sequences (300 x 226 / 114, rounded up)."""
    from skelgraph.recipes.defaults import MSR_TRAIN_SEQUENCES, SBU_TRAIN_SEQUENCES, ST_LSTM_EPOCHS
    from skelgraph.recipes.gca_lstm_msr import main as gca_msr_main

    out = tmp_path / "gca_msr"
    summary = gca_msr_main(["--data-root", data_root(tmp_path, "msr_action3d"), "--out", str(out), "--tiny",
                            "--subset", "AS2", "--epochs", "1", "--T", "6", "--hidden", "8", "--no-progress"])
    assert summary["summary"]["n"] == 1 and 0.0 <= summary["per_fold"]["AS2"]["top1"] <= 1.0
    assert (out / "AS2" / "model.pt").exists()
    capsys.readouterr()  # the run's own lines
    printed = printed_config(gca_msr_main, ["--model", "st-lstm", "--data-root", "/nonexistent"], capsys)
    assert printed["epochs"] == -(-ST_LSTM_EPOCHS * SBU_TRAIN_SEQUENCES // MSR_TRAIN_SEQUENCES) == 595
    assert printed_config(gca_msr_main, ["--data-root", "/nonexistent"], capsys)["epochs"] == 60
