"""Run provenance and config.json, and progress output (tqdm on terminals only, --log-every). Training data: real
MSR Action3D sequences from the bundled files (engine_helpers). Parsing --config / --print-config is tested in
tests/recipes/test_cli.py."""

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
from skelgraph.recipes.cli import parse_config
from skelgraph.recipes.run import train_config
from skelgraph.skeleton import MSR_ACTION3D
from skelgraph.training import TrainConfig, Trainer
from skelgraph.training.experiment import run_experiment
from skelgraph.training.provenance import git_revision, package_versions

ROOT = Path(__file__).resolve().parents[2]


def run_tiny(out, argv, resume=False):
    """run_experiment as a recipe calls it: the configuration parsed by parse_config (the MSR recipe's), the
    TrainConfig from it, the configuration and command line recorded."""
    from skelgraph.recipes.arrn_msr import RECIPE

    config = parse_config(RECIPE, argv)
    graphs = msr_graphs()
    torch.manual_seed(config.run.seed)
    train = train_config(config.optim, config.run)
    result = run_experiment(TinyModel(), graphs[:24], None, graphs[24:], train, out, class_names=list("abcd"),
                            layout=MSR_ACTION3D, meta={"model": "tiny"}, resume=resume,
                            recipe_config=config.to_dict(), argv=config.argv)
    return config, result


def test_run_folder_has_provenance_and_config(tmp_path):
    argv = ["--epochs", "1", "--seed", "3", "--device", "cpu", "--subset", "AS3", "--no-progress"]
    parsed, _ = run_tiny(tmp_path, argv)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config == parsed.to_dict() and config["data"]["subset"] == ["AS3"] and config["run"]["seed"] == 3
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
    assert prov["config"]["optim"]["epochs"] == 1 and [r["config"]["optim"]["epochs"] for r in prov["resumed"]] == [2]
    assert json.loads((tmp_path / "config.json").read_text())["optim"]["epochs"] == 2, "replays the extended run"
    # A TrainConfig built by hand (library use) has no recipe arguments: provenance only.
    graphs = msr_graphs()
    run_experiment(TinyModel(), graphs[:8], None, None, TrainConfig(epochs=1, progress=False), tmp_path / "lib",
                   class_names=list("abcd"), layout=MSR_ACTION3D, meta={})
    assert not (tmp_path / "lib" / "config.json").exists()
    assert json.loads((tmp_path / "lib" / "provenance.json").read_text())["config"] is None


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
    assert err == "", "no bar in a log"
    lines = out.splitlines()  # but one plain line per epoch (issue 37: runs talk when piped)
    assert [line.split(":")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    assert "\r" not in out and "\x1b" not in out
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
    assert len(epoch_lines) == 2 and epoch_lines[1].startswith("epoch 2/2: ") and "val loss" in epoch_lines[1]
    assert all("\r" not in line and "\x1b" not in line for line in lines)
    with pytest.raises(ValueError, match="log_every"):
        TrainConfig(log_every=-1)


@pytest.mark.slow
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
    assert second == dict(first, run=dict(first["run"], out=str(run / "replay")))
    # Seeded end to end: the replay trains the same model and writes the same metrics, byte for byte.
    assert (run / "metrics.json").read_bytes() == (replay / "metrics.json").read_bytes()
