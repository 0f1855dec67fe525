"""Run provenance, config.json replay (--config, --print-config), and progress output (tqdm on terminals only,
--log-every). Training data: real MSR Action3D sequences from the bundled files (engine_helpers)."""

import io
import json
import re
import shutil
import sys
from datetime import datetime
from pathlib import Path

import pytest
import torch
from engine_helpers import TinyModel, msr_graphs

import skelgraph
from skelgraph.recipes.arrn_msr import main as arrn_msr_main
from skelgraph.skeleton import MSR_ACTION3D
from skelgraph.training import TrainConfig, Trainer
from skelgraph.training.experiment import (
    base_parser,
    given_options,
    load_config_file,
    parse_recipe_args,
    resolved_config,
    run_experiment,
    train_config,
)
from skelgraph.training.provenance import git_revision, package_versions

ROOT = Path(__file__).resolve().parents[2]


def parser():
    p = base_parser("demo", epochs=3, batch_size=8, lr=0.01)
    p.add_argument("--subset", nargs="+", default=["AS1", "AS2"], choices=["AS1", "AS2", "AS3"])
    p.add_argument("--stream", choices=["joint", "line", "two"], default="two")
    p.add_argument("--T", type=int, default=20)
    return p


def run_tiny(out, argv, resume=False):
    """run_experiment as a recipe calls it: arguments parsed by parse_recipe_args, config by train_config."""
    args = parse_recipe_args(parser(), argv)
    graphs = msr_graphs()
    torch.manual_seed(args.seed)
    config = train_config(args, optimizer="adam")
    result = run_experiment(TinyModel(), graphs[:24], None, graphs[24:], config, out, class_names=list("abcd"),
                            layout=MSR_ACTION3D, meta={"model": "tiny"}, resume=resume)
    return args, result


def test_run_folder_has_provenance_and_config(tmp_path):
    argv = ["--epochs", "1", "--seed", "3", "--device", "cpu", "--subset", "AS3", "--no-progress"]
    args, _ = run_tiny(tmp_path, argv)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config == resolved_config(args) and config["subset"] == ["AS3"] and config["seed"] == 3
    assert "config" not in config and "print_config" not in config, "how it was invoked is not configuration"
    prov = json.loads((tmp_path / "provenance.json").read_text())
    assert prov["recipe_argv"] == argv and prov["argv"] == sys.argv
    assert prov["config"] == config and prov["train_config"]["seed"] == 3 == prov["seed"]
    assert prov["train_config"]["optimizer"] == "adam" and prov["train_config"]["epochs"] == 1
    versions = prov["versions"]
    assert versions["torch"] == torch.__version__ and versions["skelgraph"] == skelgraph.__version__
    assert {"python", "torch_geometric", "numpy", "torch_scatter"} <= set(versions)
    assert prov["device"]["device"] == "cpu" and prov["device"]["torch_threads"] >= 1
    # What decides bit-identity across machines: the CPU and the instruction set torch's kernels dispatch to.
    assert prov["device"]["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    if Path("/proc/cpuinfo").exists() and "model name" in Path("/proc/cpuinfo").read_text():
        assert prov["device"]["cpu_model"] and prov["device"]["cpu_model"] in Path("/proc/cpuinfo").read_text()
    assert prov["hostname"] and datetime.fromisoformat(prov["start_time"]).tzinfo is not None
    assert Path(prov["skelgraph_path"]) == Path(skelgraph.__file__).resolve().parent
    if shutil.which("git") and (ROOT / ".git").exists():  # a checkout with git: the revision is recorded
        assert re.fullmatch(r"[0-9a-f]{40}", prov["git"]["commit"]) and isinstance(prov["git"]["dirty"], bool)
    else:
        assert prov["git"] is None


def test_git_revision_of_a_tree_outside_git(tmp_path):
    assert git_revision(tmp_path) is None
    assert package_versions()["torch_scatter"] is None or isinstance(package_versions()["torch_scatter"], str)


def test_resume_appends_to_provenance_and_plain_configs_write_none(tmp_path):
    run_tiny(tmp_path, ["--epochs", "1", "--no-progress"])
    run_tiny(tmp_path, ["--epochs", "2", "--no-progress"], resume=True)
    prov = json.loads((tmp_path / "provenance.json").read_text())
    assert prov["config"]["epochs"] == 1 and [r["config"]["epochs"] for r in prov["resumed"]] == [2]
    assert json.loads((tmp_path / "config.json").read_text())["epochs"] == 2, "replays the extended run"
    # A TrainConfig built by hand (library use) has no recipe arguments: provenance only.
    graphs = msr_graphs()
    run_experiment(TinyModel(), graphs[:8], None, None, TrainConfig(epochs=1, progress=False), tmp_path / "lib",
                   class_names=list("abcd"), layout=MSR_ACTION3D, meta={})
    assert not (tmp_path / "lib" / "config.json").exists()
    assert json.loads((tmp_path / "lib" / "provenance.json").read_text())["config"] is None


def test_config_round_trip_and_command_line_override(tmp_path):
    first = parse_recipe_args(parser(), ["--epochs", "7", "--subset", "AS2", "AS3", "--grad-clip", "0.5",
                                         "--amp", "--stream", "line", "--out", "somewhere"])
    path = tmp_path / "config.json"
    path.write_text(json.dumps(resolved_config(first)))
    again = parse_recipe_args(parser(), ["--config", str(path)])
    expected = dict(resolved_config(first), out=None)  # where to write is not taken from the file
    assert resolved_config(again) == expected
    override = parse_recipe_args(parser(), ["--config", str(path), "--epochs", "2", "--subset", "AS1"])
    assert (override.epochs, override.subset, override.stream, override.amp) == (2, ["AS1"], "line", True)
    assert given_options(first) == {"epochs", "subset", "grad_clip", "amp", "stream", "out"}
    assert given_options(override) == set(resolved_config(first)) - {"out", "resume"}, "the file's keys count"
    assert given_options(parse_recipe_args(parser(), [])) == set()
    with pytest.raises(ValueError, match="parse_recipe_args"):
        given_options(parser().parse_args([]))
    # Hand-written files may hold a few options, spelled as on the command line.
    path.write_text(json.dumps({"batch-size": 5, "lr": 1}))
    small = parse_recipe_args(parser(), ["--config", str(path)])
    assert (small.batch_size, small.lr, small.epochs) == (5, 1.0, 3)


def test_replaying_a_run_folder_writes_beside_it(tmp_path, capsys):
    run_tiny(tmp_path / "run", ["--epochs", "1", "--T", "12", "--no-progress"])
    args = parse_recipe_args(parser(), ["--config", str(tmp_path / "run" / "config.json")])
    assert args.out == str(tmp_path / "run" / "replay") and args.T == 12
    args = parse_recipe_args(parser(), ["--config", str(tmp_path / "run" / "config.json"), "--out", "x"])
    assert args.out == "x"


@pytest.mark.parametrize("content,message", [
    ({"epochs": 2, "strem": "two"}, "unknown option.*strem"),
    ({"epochs": 2.5}, "option epochs: expected an integer"),
    ({"epochs": "many"}, "option epochs"),
    ({"stream": "three"}, "option stream: expected one of"),
    ({"subset": "AS1"}, "option subset: expected a list"),
    ({"amp": "yes"}, "option amp: expected true or false"),
    ({"lr": None}, "option lr: expected a value"),
    ([1, 2], "expected a mapping"),
])
def test_bad_config_files_are_refused_in_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(content))
    with pytest.raises(SystemExit) as exit_info:
        parse_recipe_args(parser(), ["--config", str(path)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and len(err.strip().splitlines()) == 1 and re.search(message, err), err


def test_unreadable_config_files(tmp_path, capsys):
    (tmp_path / "broken.json").write_text('{"epochs": ')
    for name, message in (("broken.json", "line 1: not valid JSON"), ("absent.json", "No such file")):
        with pytest.raises(SystemExit) as exit_info:
            parse_recipe_args(parser(), ["--config", str(tmp_path / name)])
        assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_yaml_config_without_pyyaml_says_so(tmp_path, monkeypatch, capsys):
    path = tmp_path / "c.yml"
    path.write_text("epochs: 4\n")
    monkeypatch.setitem(sys.modules, "yaml", None)  # as without PyYAML installed
    with pytest.raises(SystemExit) as exit_info:
        parse_recipe_args(parser(), ["--config", str(path)])
    assert exit_info.value.code == 2 and "needs PyYAML" in capsys.readouterr().err


def test_yaml_config(tmp_path):
    pytest.importorskip("yaml")  # optional: pip install "skelgraph[yaml]"
    path = tmp_path / "c.yaml"
    path.write_text("epochs: 4\nsubset: [AS3]\n")
    assert load_config_file(path) == {"epochs": 4, "subset": ["AS3"]}
    args = parse_recipe_args(parser(), ["--config", str(path)])
    assert (args.epochs, args.subset) == (4, ["AS3"])


def test_print_config_prints_the_resolved_arguments_and_exits(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_recipe_args(parser(), ["--print-config", "--epochs", "5", "--stream", "joint"])
    assert exit_info.value.code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == resolved_config(parse_recipe_args(parser(), ["--epochs", "5", "--stream", "joint"]))
    # The recipes use it too, and stop before touching any data.
    with pytest.raises(SystemExit):
        arrn_msr_main(["--print-config", "--data-root", str(tmp_path / "nothing"), "--T", "9"])
    printed = json.loads(capsys.readouterr().out)
    assert printed["T"] == 9 and printed["subset"] == ["AS1", "AS2", "AS3"] and not (tmp_path / "nothing").exists()


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def fit_tiny(**config):
    graphs = msr_graphs()
    cfg = TrainConfig(epochs=2, batch_size=8, optimizer="adam", lr=0.01, **config)
    Trainer(TinyModel(), graphs[:20], graphs[20:28], cfg).fit()


def test_progress_bars_only_on_a_terminal(capsys, monkeypatch):
    fit_tiny()  # stderr captured by pytest: not a terminal
    out, err = capsys.readouterr()
    assert err == "" and out == "", "no bar and no control characters in a log"
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    fit_tiny()
    assert "\r" in terminal.getvalue() and "training" in terminal.getvalue()
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    fit_tiny(progress=False)
    assert terminal.getvalue() == ""


def test_log_every_prints_plain_lines(capsys):
    fit_tiny(log_every=2)  # 20 samples, batch 8: 3 batches per epoch
    lines = capsys.readouterr().out.splitlines()
    batch_lines = [line for line in lines if " batch " in line]
    assert [line.split(" loss")[0] for line in batch_lines] == [
        "epoch 1/2 batch 2/3", "epoch 1/2 batch 3/3", "epoch 2/2 batch 2/3", "epoch 2/2 batch 3/3"]
    epoch_lines = [line for line in lines if " batch " not in line]
    assert len(epoch_lines) == 2 and epoch_lines[1].startswith("epoch 2/2 ") and "val_top1" in epoch_lines[1]
    assert all("\r" not in line and "\x1b" not in line for line in lines)
    with pytest.raises(ValueError, match="log_every"):
        TrainConfig(log_every=-1)


def test_recipe_replay_gives_the_same_configuration(tmp_path):
    """A recipe run replayed from its config.json resolves the same arguments and gives the same metrics.json."""
    root = tmp_path / "msr"
    root.mkdir()
    (root / "raw").symlink_to(ROOT / "datasets" / "msr_action3d" / "raw")
    argv = ["--data-root", str(root), "--out", str(tmp_path / "run"), "--tiny", "--subset", "AS1", "--epochs", "1",
            "--T", "8", "--M", "8", "--E", "1", "--no-progress"]
    arrn_msr_main(argv)
    run = tmp_path / "run" / "AS1"
    arrn_msr_main(["--config", str(run / "config.json")])
    replay = run / "replay" / "AS1"
    first, second = (json.loads((d / "config.json").read_text()) for d in (run, replay))
    assert second == dict(first, out=str(run / "replay"))
    # Seeded end to end: the replay trains the same model and writes the same metrics, byte for byte.
    assert (run / "metrics.json").read_bytes() == (replay / "metrics.json").read_bytes()
