"""``python -m skelgraph.predict``: user errors are one line on stderr and exit code 2; model.pt and best.pt
both work. The checkpoint is an untrained small ARRN-LSTM exported here; the skeleton file is a bundled NTU
sample."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from skelgraph.nn import ARRNLSTM
from skelgraph.predict import main
from skelgraph.training.checkpoint import export_model, save_checkpoint
from skelgraph.training.registry import model_spec, pipeline_spec

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "datasets/ntu_rgbd/raw/samples/S001C003P008R002A058.skeleton"


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ckpt")
    torch.manual_seed(0)
    model = ARRNLSTM.from_paper("ntu", num_classes=5, M=8, E=1, T=8)
    meta = {"model": model_spec(model), "pipeline": pipeline_spec("ntu", 8)}
    names = [f"action {i}" for i in range(5)]
    export_model(folder / "model.pt", model, meta, names)
    save_checkpoint(folder / "best.pt", {"model": model.state_dict(), "meta": meta, "class_names": names,
                                         "state": {"epoch": 1}, "config": {}})
    return folder


@pytest.mark.parametrize("name", ["model.pt", "best.pt"])
def test_predicts_with_model_pt_and_best_pt(checkpoints, name, capsys):
    assert main(["--checkpoint", str(checkpoints / name), str(SAMPLE), "--top", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith(SAMPLE.name) and len(lines) == 3 and "%" in lines[1]


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def test_user_errors_are_one_line_and_exit_2(checkpoints, tmp_path, capsys):
    ckpt = str(checkpoints / "model.pt")
    assert main(["--checkpoint", str(tmp_path / "missing.pt"), str(SAMPLE)]) == 2
    assert "no checkpoint file" in one_error_line(capsys)
    assert main(["--checkpoint", ckpt, str(tmp_path / "missing.skeleton")]) == 2
    assert "missing.skeleton" in one_error_line(capsys)
    assert main(["--checkpoint", ckpt, str(SAMPLE), "--plot", str(tmp_path / "no" / "such" / "p.png")]) == 2
    assert "--plot" in one_error_line(capsys)
    assert main(["--checkpoint", ckpt, str(SAMPLE), "--plot", str(tmp_path)]) == 2
    assert "folder" in one_error_line(capsys)
    assert main(["--checkpoint", ckpt, str(SAMPLE), "--device", "nonsense"]) == 2
    assert "device" in one_error_line(capsys)
    for top in ("-1", "0", "x"):
        with pytest.raises(SystemExit) as exit_:
            main(["--checkpoint", ckpt, str(SAMPLE), "--top", top])
        assert exit_.value.code == 2 and "--top" in one_error_line(capsys)
    not_a_run = tmp_path / "other.pt"
    save_checkpoint(not_a_run, {"model": {}})
    assert main(["--checkpoint", str(not_a_run), str(SAMPLE)]) == 2
    assert "not a skelgraph recipe checkpoint" in one_error_line(capsys)
    wrong_spec = tmp_path / "wrong.pt"
    save_checkpoint(wrong_spec, {"model": {}, "class_names": ["a"],
                                 "meta": {"model": {"class": "skelgraph.nn.arrn.ARRNLSTM", "config_class":
                                                    "skelgraph.nn.arrn.ARRNConfig", "config": {"bogus": 1}},
                                          "pipeline": pipeline_spec("ntu", 8)}})
    assert main(["--checkpoint", str(wrong_spec), str(SAMPLE)]) == 2
    assert "takes no field 'bogus'" in one_error_line(capsys)


@pytest.mark.slow
def test_command_line_process(checkpoints, tmp_path):
    out = subprocess.run([sys.executable, "-m", "skelgraph.predict", "--checkpoint", str(checkpoints / "model.pt"),
                          str(tmp_path / "nope.skeleton")], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
