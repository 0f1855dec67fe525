"""Typed recipe configurations: built from Python, from files and from the command line; unknown fields and values
out of range refused in one line (exit code 2 at the command line); ``--config`` / ``--print-config`` replay."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from skelgraph.recipes import ARRNOptions, ConfigError, GCAOptions, Optimisation, Protocol, RecipeConfig, RunOptions
from skelgraph.recipes.arrn_msr import RECIPE as MSR
from skelgraph.recipes.arrn_msr import main as arrn_msr_main
from skelgraph.recipes.cli import parse_config
from skelgraph.recipes.files import MAX_CONFIG_DEPTH, load_config_file
from skelgraph.recipes.gca_lstm_sbu import main as gca_sbu_main
from skelgraph.recipes.protocols import MSRData
from skelgraph.recipes.run import train_config
from skelgraph.train import main as train_main

ROOT = Path(__file__).resolve().parents[2]
NOWHERE = ["--data-root", "/nonexistent-skelgraph-data"]


def refused(main, argv, capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(err) == 1, err
    return err[0]


def test_parts_are_frozen_typed_and_checked():
    optim = Optimisation(epochs=3, lr=1)
    assert optim.lr == 1.0 and isinstance(optim.lr, float)
    with pytest.raises(AttributeError):
        optim.epochs = 4  # type: ignore[misc]
    assert ARRNOptions(lstm_sizes=[8, 4]).lstm_sizes == (8, 4), "lists become tuples (hashable, frozen)"
    for bad, message in ((dict(epochs=0), "--epochs must be >= 1, got 0"),
                         (dict(epochs=2.5), "--epochs: expected an integer"),
                         (dict(lr=math.inf), "--lr must be a finite number, got inf"),
                         (dict(lr=0.0), "--lr must be > 0"),
                         (dict(grad_clip=math.nan), "--grad-clip must be a finite number"),
                         (dict(optimizer="lbfgs"), "--optimizer: expected one of sgd, adam, rmsprop"),
                         (dict(batch_size=True), "--batch-size: expected an integer")):
        with pytest.raises(ConfigError, match=re.escape(message)):
            Optimisation(**bad)
    with pytest.raises(TypeError):
        Optimisation(epoch=3)  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="unknown optim option.*epoch"):
        Optimisation.from_dict({"epoch": 3})


def test_a_configuration_from_python_files_and_the_command_line_agree(tmp_path):
    built = RecipeConfig("arrn_msr", MSRData(subset=("AS1",)), ARRNOptions(T=9), Optimisation(epochs=4),
                         Protocol(), RunOptions())
    path = tmp_path / "c.json"
    path.write_text(json.dumps(built.to_dict()))
    assert built.updated(load_config_file(path)) == built
    parsed = parse_config(MSR, ["--config", str(path)])
    assert parsed == built.replace(run={"device": parsed.run.device})
    assert parse_config(MSR, ["--config", str(path), "--epochs", "2"]).optim.epochs == 2, "the command line wins"
    assert built.replace(optim={"epochs": 5}).optim.epochs == 5 and built.optim.epochs == 4
    with pytest.raises(ConfigError, match="unknown option.*strem"):
        built.updated({"strem": "two"})
    with pytest.raises(ConfigError, match="recipe 'gca_lstm_sbu', not of 'arrn_msr'"):
        built.updated({"recipe": "gca_lstm_sbu"})


def test_config_round_trip_and_command_line_override(tmp_path):
    first = parse_config(MSR, ["--epochs", "7", "--subset", "AS2", "AS3", "--grad-clip", "0.5", "--amp", "--stream",
                               "line", "--out", "somewhere"])
    path = tmp_path / "config.json"
    path.write_text(json.dumps(first.to_dict()))
    again = parse_config(MSR, ["--config", str(path)])
    assert again == first.replace(run={"out": None}), "where to write is not taken from the file"
    override = parse_config(MSR, ["--config", str(path), "--epochs", "2", "--subset", "AS1"])
    assert (override.optim.epochs, override.data.subset, override.model.stream) == (2, ("AS1",), "line")
    # Hand-written files may hold a few options, spelled as on the command line, flat (older run folders) too.
    path.write_text(json.dumps({"optim": {"batch-size": 5}, "lr": 1}))
    small = parse_config(MSR, ["--config", str(path)])
    assert (small.optim.batch_size, small.optim.lr, small.optim.epochs) == (5, 1.0, 100)


def test_replaying_a_run_folder_writes_beside_it(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "provenance.json").write_text("{}")
    (run / "config.json").write_text(json.dumps(parse_config(MSR, ["--T", "12"]).to_dict()))
    config = parse_config(MSR, ["--config", str(run / "config.json")])
    assert config.run.out == str(run / "replay") and config.model.T == 12
    assert parse_config(MSR, ["--config", str(run / "config.json"), "--out", "x"]).run.out == "x"


@pytest.mark.parametrize("content,message", [
    ({"optim": {"epochs": 2}, "model": {"strem": "two"}}, "unknown model option.*strem"),
    ({"epochs": 2.5}, "--epochs: expected an integer"),
    ({"epochs": "many"}, "--epochs: expected an integer"),
    ({"stream": "three"}, "--stream: expected one of"),
    ({"subset": "AS1"}, "--subset: expected a list"),
    ({"amp": "yes"}, "--amp: expected true or false"),
    ({"lr": None}, "--lr: expected a value"),
    ({"optim": 3}, "optim: expected a mapping"),
    ([1, 2], "expected a mapping"),
    ({"a": json.loads("[" * 12 + "]" * 12)}, f"nested deeper than {MAX_CONFIG_DEPTH} levels"),
])
def test_bad_config_files_are_refused_in_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(content))
    err = refused(arrn_msr_main, ["--config", str(path)], capsys)
    assert re.search(message, err), err


@pytest.mark.slow
def test_a_deeply_nested_config_is_one_line_not_a_traceback(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    yaml_path = tmp_path / "deep.yaml"
    yaml_path.write_text("".join(" " * i + "a:\n" for i in range(3000)))
    for file in (path, yaml_path):
        out = subprocess.run([sys.executable, "-m", "skelgraph.recipes.arrn_msr", "--config", str(file)],
                             capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr[-500:]
        assert "Traceback" not in out.stderr


def test_unreadable_config_files(tmp_path, capsys):
    (tmp_path / "broken.json").write_text('{"epochs": ')
    for name, message in (("broken.json", "line 1: not valid JSON"), ("absent.json", "No such file")):
        assert message in refused(arrn_msr_main, ["--config", str(tmp_path / name)], capsys)


def test_yaml_config(tmp_path, monkeypatch, capsys):
    pytest.importorskip("yaml")  # optional: pip install "skelgraph[yaml]"
    path = tmp_path / "c.yaml"
    path.write_text("optim:\n  epochs: 4\ndata:\n  subset: [AS3]\n")
    config = parse_config(MSR, ["--config", str(path)])
    assert (config.optim.epochs, config.data.subset) == (4, ("AS3",))
    monkeypatch.setitem(sys.modules, "yaml", None)  # as without PyYAML installed
    assert "needs PyYAML" in refused(arrn_msr_main, ["--config", str(path)], capsys)


def test_print_config_prints_the_resolved_configuration_and_exits(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        arrn_msr_main(["--print-config", "--data-root", str(tmp_path / "nothing"), "--T", "9"])
    assert exit_info.value.code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == parse_config(MSR, ["--data-root", str(tmp_path / "nothing"), "--T", "9"]).to_dict()
    assert printed["model"]["T"] == 9 and printed["data"]["subset"] == ["AS1", "AS2", "AS3"]
    assert not (tmp_path / "nothing").exists(), "stops before touching any data"


# Issue 36 (items 4, 7, 8): numeric options are checked for range and finiteness when the configuration is built.
@pytest.mark.parametrize("argv,message", [
    (["--M", "0"], "--M must be >= 1, got 0"),
    (["--E", "0"], "--E must be >= 1, got 0"),
    (["--T", "-3"], "--T must be >= 1"),
    (["--lstm-sizes", "0"], "--lstm-sizes must be >= 1, got 0"),
    (["--dropout", "nan"], "--dropout must be a finite number, got nan"),
    (["--dropout", "1.5"], "--dropout must be <= 1"),
    (["--noise", "nan"], "--noise must be a finite number"),
    (["--rotate", "nan"], "--rotate must be a finite number"),
    (["--lr", "inf"], "--lr must be a finite number, got inf"),
    (["--lr", "0"], "--lr must be > 0"),
    (["--grad-clip", "nan"], "--grad-clip must be a finite number"),
    (["--grad-clip", "-1"], "--grad-clip must be >= 0"),
    (["--epochs", "0"], "--epochs must be >= 1, got 0"),
    (["--epochs", "-1"], "--epochs must be >= 1, got -1"),
    (["--batch-size", "0"], "--batch-size must be >= 1"),
    (["--val-fraction", "1.5"], "--val-fraction must be <= 1, got 1.5"),
    (["--random-scale", "2", "1"], "--random-scale: LOW must not exceed HIGH, got 2 1"),
    (["--random-scale", "0", "1"], "--random-scale must be > 0"),
    (["--weight-decay", "-0.1"], "--weight-decay must be >= 0"),
    (["--ema", "inf"], "--ema must be a finite number"),
    (["--swap", "2"], "--swap must be <= 1"),
    (["--alpha", "nan"], "--alpha must be a finite number"),
    (["--seed", "-1"], "--seed must be >= 0"),
    (["--epochs", "many"], "--epochs: expected an integer, got 'many'"),
    (["--selection", "inner-cv", "--cv-groups", ""], "--selection inner-cv needs --cv-groups"),
])
def test_options_out_of_range_are_one_line_and_exit_2(capsys, argv, message):
    assert message in refused(arrn_msr_main, [*NOWHERE, *argv, "--print-config"], capsys)


@pytest.mark.parametrize("argv,message", [
    (["--hidden", "0"], "--hidden must be >= 1"),
    (["--N", "0"], "--N must be >= 1"),
    (["--forget-bias", "nan"], "--forget-bias must be a finite number"),
    (["--folds", "7"], "--folds must be <= 4, got 7"),
    (["--model", "gca", "--trust-gate"], "--trust-gate applies to the ST-LSTM baselines"),
])
def test_gca_options_out_of_range(capsys, argv, message):
    assert message in refused(gca_sbu_main, [*NOWHERE, *argv, "--print-config"], capsys)


def test_train_command_refuses_in_one_line(capsys):
    assert "--dropout must be a finite number" in refused(
        train_main, ["--data", "d", "--layout", "coco17", "--model", "gca", "--dropout", "nan"], capsys)
    assert "--lstm-sizes must be >= 1" in refused(train_main, ["--data", "d", "--layout", "coco17", "--lstm-sizes",
                                                               "0"], capsys)


@pytest.mark.slow
def test_command_line_errors_exit_2_without_traceback():
    out = subprocess.run([sys.executable, str(ROOT / "recipes" / "arrn_msr.py"), "--M", "0"], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 2 and out.stderr.strip().splitlines() == [out.stderr.strip()]
    assert "--M must be >= 1, got 0" in out.stderr


def test_gca_options_say_which_model_trains_stepwise():
    assert GCAOptions(model="gca", training="stepwise").stepwise
    assert not GCAOptions(model="st-lstm", training="stepwise").stepwise, "Algorithm 1: GCA models only"


@pytest.mark.parametrize("name", ["arrn_msr --stream line --paper-setting", "arrn_ntu[demo] --dataset ntu120 --stream "
                                  "joint", "gca_lstm_sbu --model global2 --trust-gate",
                                  "gca_lstm_ntu[demo] --model gca2 --training direct",
                                  "arrn_utkinect --stream two --protocol loso"])
def test_run_folders_of_older_versions_replay(tmp_path, name):
    """The flat config.json runs wrote before typed configurations (the fixture's --print-config values) replays
    to the configuration its command gives today."""
    import importlib

    case = json.loads((ROOT / "tests/recipes/fixtures/print_config.json").read_text())[name]
    module = importlib.import_module(case["module"])
    recipe = module.RECIPE if hasattr(module, "RECIPE") else module.recipe(case["config"]["model"])
    path = tmp_path / "config.json"
    path.write_text(json.dumps(dict(case["config"], device="cpu")))
    old = parse_config(recipe, ["--config", str(path)])
    argv = [*case["argv"], "--device", "cpu"]
    if name.startswith("gca_lstm_ntu[demo]"):  # its demonstration trained 60 epochs at batch 32 then, 3 at 4 today:
        argv += ["--epochs", "60", "--batch-size", "32"]  # an old folder replays what it ran
    today = parse_config(recipe, argv)
    assert old == today


def test_an_older_train_run_folder_replays_as_it_ran_not_with_todays_defaults(tmp_path):
    """skelgraph.train's defaults changed (issue 35: the recipes' small-data defaults and an epoch budget from the
    data's size); a config.json written before replays the run it records: its epochs stay fixed, its
    validation split and its optimiser are kept."""
    import skelgraph.train as train

    case = json.loads((ROOT / "tests/recipes/fixtures/print_config.json").read_text())["train --model arrn"]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(dict(case["config"], device="cpu")))
    old = parse_config(train.recipe("arrn"), ["--config", str(path)])
    assert (old.optim.epochs, old.protocol.selection, old.optim.ema) == (50, "val-split", 0.0)
    assert old.data.auto_epochs is False, "a replay keeps the epochs it records"
    today = parse_config(train.recipe("arrn"), ["--data", "d", "--layout", "coco17", "--device", "cpu"])
    assert today.data.auto_epochs and today.protocol.selection == "none" and today.optim.ema == 10.0


@pytest.mark.parametrize("model, n, epochs", [("arrn", 114, 100), ("arrn", 57, 200), ("arrn", 10, 400),
                                              ("arrn", 1000, 30), ("arrn", 300, 38), ("gca", 20, 60),
                                              ("gca", 40000, 60), ("global1", 50, 60), ("st-lstm", 226, 300),
                                              ("st-lstm", 100, 678), ("st-lstm", 5000, 60), ("global2", 113, 480)])
def test_train_epoch_budget_follows_the_training_split_size(model, n, epochs):
    """skelgraph.train's rule (epoch_budget's docstring): ARRN-LSTM keeps the optimiser steps of its MSR budget
    (100 epochs of 114 sequences) within 30..400 epochs; GCA-LSTM and Global (1) 60 epochs; the slow ST-LSTM
    baselines the steps of their SBU budgets (300 / 240 epochs of 226 sequences), at least 60 epochs."""
    import math

    from skelgraph.train import epoch_budget

    options = ARRNOptions() if model == "arrn" else GCAOptions(model=model)
    assert epoch_budget(options, n) == epochs
    if model == "arrn" and 30 < epochs < 400:
        assert epochs == math.ceil(100 * 114 / n)
    with pytest.raises(ValueError):
        epoch_budget(options, 0)


def test_train_command_uses_the_budget_rule_unless_epochs_is_given(tmp_path, capsys):
    """A run on the bundled 2-D example (18 training clips) takes the rule's budget and records it in config.json;
    --epochs keeps the user's number."""
    from skelgraph.train import main as train_main

    data = ROOT / "datasets" / "msr_action3d_2d"
    argv = ["--data", str(data / "msr_coco17.pkl"), "--layout", "coco17", "--train-split", "xsub_train",
            "--test-split", "xsub_val", "--T", "6", "--M", "4", "--E", "1", "--lstm-sizes", "4", "--no-monitor-test",
            "--quiet", "--keep", "none", "--device", "cpu"]
    train_main([*argv, "--epochs", "2", "--out", str(tmp_path / "given")])
    assert json.loads((tmp_path / "given" / "config.json").read_text())["optim"]["epochs"] == 2
    import skelgraph.train as train

    seen = {}

    def fake_fit(config, *args, **kwargs):
        seen["epochs"], seen["auto"] = config.optim.epochs, config.data.auto_epochs
        return {}

    original = train.train_arrn
    train.train_arrn = fake_fit
    try:
        train_main([*argv, "--out", str(tmp_path / "rule")])
    finally:
        train.train_arrn = original
    assert seen == {"epochs": 400, "auto": False}  # 18 clips: 100 x 114 / 18 -> 634, at most 400
    assert "400 epochs: the budget for 18 training sequences" in capsys.readouterr().out


def test_train_command_reads_its_model_from_the_config_file(tmp_path, capsys):
    """skelgraph.train's options depend on --model: a config.json names it in its model part, and replays."""
    argv = ["--data", "d.pkl", "--layout", "coco17", "--model", "global2", "--hidden", "7", "--device", "cpu"]
    with pytest.raises(SystemExit):
        train_main([*argv, "--print-config"])
    printed = json.loads(capsys.readouterr().out)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(printed))
    with pytest.raises(SystemExit):
        train_main(["--config", str(path), "--print-config"])
    assert json.loads(capsys.readouterr().out) == printed
    assert printed["model"]["model"] == "global2" and printed["model"]["hidden"] == 7


def test_arrn_options_reach_the_model_relational_and_forget_bias():
    """--no-relational and --forget-bias build the model they name (ARRNLSTM's relational / forget_bias)."""
    from skelgraph.recipes import build_arrn_model

    model = build_arrn_model(ARRNOptions(relational=False, forget_bias=1.0, stream="joint"), 8)
    assert model.config.relational is False and model.config.forget_bias == 1.0
    lstm = model.streams["joint"].lstms[0]
    H = lstm.hidden_size
    assert float(lstm.bias_ih_l0[H:2 * H].detach().mean()) > 0.9
    default = build_arrn_model(ARRNOptions(), 8)
    assert default.config.relational and default.config.forget_bias == 0.0


def test_arrn_options_reach_the_model_mask_init_readout_and_line_velocity():
    """--mask-init, --readout concat and --no-line-velocity build the model they name; the option lists are the
    model's own (sections keeps copies so that reading options does not import torch)."""
    from skelgraph.nn import arrn
    from skelgraph.recipes import build_arrn_model, sections

    assert sections.READOUTS == arrn.READOUTS and sections.MASK_INITS == arrn.MASK_INITS
    assert sections.OBJECTIVES == arrn.OBJECTIVES
    assert sections.EMBEDDINGS == arrn.EMBEDDINGS and sections.LINE_SLOTS == arrn.LINE_SLOTS
    assert sections.ATTENTION_FCS == arrn.ATTENTION_FCS
    assert sections.MASK_NORMS == arrn.MASK_NORMS and sections.RRN_INITS == arrn.RRN_INITS
    built = build_arrn_model(ARRNOptions(mask_norm="softmax", rrn_init="zeros", message_relu=True,
                                         embedding_relu=True), 8)
    stream = built.streams["line"]
    assert (stream.mask_norm, stream.rrn.initial, stream.rrn.last_relu, stream.embedding_relu) == \
        ("softmax", "zeros", True, True)
    assert parse_config(MSR, [*NOWHERE, "--rrn-graph", "bones"]).model.rrn_graph == "bones"
    protocol = parse_config(MSR, [*NOWHERE, "--center", "mean", "--frame-sampling", "window"]).protocol
    assert (protocol.center, protocol.frame_sampling) == ("mean", "window")
    config = parse_config(MSR, [*NOWHERE, "--mask-norm", "softmax", "--rrn-init", "zeros", "--message-relu",
                                "--embedding-relu"])
    assert (config.model.mask_norm, config.model.rrn_init, config.model.message_relu,
            config.model.embedding_relu) == ("softmax", "zeros", True, True)
    assert build_arrn_model(ARRNOptions(attention_fc="per_node"), 8).streams["joint"].att.out_features == 12
    built = build_arrn_model(ARRNOptions(embedding="per_joint", line_slots="fixed", message_channels=40), 8)
    assert (built.config.embedding, built.config.line_slots, built.config.message_channels) == \
        ("per_joint", "fixed", 40)
    assert built.streams["line"].embed.in_features == 3 * 20
    assert build_arrn_model(ARRNOptions(objective="fused"), 8).config.objective == "fused"
    model = build_arrn_model(ARRNOptions(mask_init="random", readout="concat"), 8)
    assert model.config.mask_init == "random" and model.config.readout == "concat"
    mask = model.streams["joint"].mask.detach()
    assert ((mask >= 0) & (mask < 1)).all() and mask.std() > 0
    assert model.streams["joint"].classifier.in_features == 20 * 512  # T x h
    default = build_arrn_model(ARRNOptions(), 8)
    assert default.config.mask_init == "ones" and bool((default.streams["line"].mask == 1).all())
    config = parse_config(MSR, [*NOWHERE, "--no-line-velocity", "--mask-init", "random", "--readout", "concat"])
    assert not config.model.line_velocity and config.model.mask_init == "random"
    assert config.model.readout == "concat"
    assert parse_config(MSR, [*NOWHERE]).model.line_velocity


def test_no_scale_keeps_the_recorded_units():
    """--no-scale leaves the centred coordinates in their recorded units (the pipeline's scale is 1); by default
    they are scaled by 1 / std of the training split's centred coordinates."""
    from types import SimpleNamespace

    from skelgraph.recipes.splits import recipe_pipeline
    from skelgraph.skeleton import MSR_ACTION3D

    train = SimpleNamespace(layout=MSR_ACTION3D)
    config = parse_config(MSR, [*NOWHERE, "--no-scale"])
    assert config.protocol.scale is False and parse_config(MSR, [*NOWHERE]).protocol.scale is True
    assert recipe_pipeline(train, T=8, protocol=config.protocol)["scale"] == 1.0


def test_center_joints_change_the_centre_the_pipeline_stores():
    """--center-joints replaces the layout's centre joints in the pipeline spec (stored whole, so inference centres
    the same way); an unknown joint is a ConfigError naming the option and listing the layout's joints."""
    from types import SimpleNamespace

    from skelgraph.recipes.splits import recipe_pipeline
    from skelgraph.skeleton import MSR_ACTION3D

    train = SimpleNamespace(layout=MSR_ACTION3D)
    knees = ["HipCenter", "Spine", "HipLeft", "HipRight", "KneeLeft"]
    config = parse_config(MSR, [*NOWHERE, "--no-scale", "--center-joints", *knees])
    assert recipe_pipeline(train, T=8, protocol=config.protocol)["layout"]["center"] == knees
    default = parse_config(MSR, [*NOWHERE, "--no-scale"])
    assert recipe_pipeline(train, T=8, protocol=default.protocol)["layout"]["center"] == list(MSR_ACTION3D.center)
    wrong = parse_config(MSR, [*NOWHERE, "--no-scale", "--center-joints", "Pelvis"])
    with pytest.raises(ConfigError, match=r"--center-joints: .*Pelvis.*HipCenter"):
        recipe_pipeline(train, T=8, protocol=wrong.protocol)


def test_grad_clip_zero_turns_a_recipes_clipping_off():
    """ARRN on MSR clips at 5 by default; ``--grad-clip 0`` is the way to turn that off from the command line (the
    engine clips only for a positive value)."""
    assert parse_config(MSR, [*NOWHERE]).optim.grad_clip == 5.0
    config = parse_config(MSR, [*NOWHERE, "--grad-clip", "0"])
    assert config.optim.grad_clip == 0
    assert not train_config(config.optim, config.run).grad_clip
