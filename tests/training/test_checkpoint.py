"""Checkpoints load with ``weights_only=True``: RNG state survives as plain values, booby-trapped files run
nothing, specs may name only allow-listed classes, and the lean ``model.pt`` is about the weights' size."""

import builtins
import pickle
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from skelgraph.data import to_data
from skelgraph.io import read_ntu_skeleton
from skelgraph.nn import ARRNLSTM, GCALSTM, RRN
from skelgraph.predict import Predictor
from skelgraph.predict import main as predict_main
from skelgraph.skeleton import get_layout
from skelgraph.training.checkpoint import (
    CheckpointError,
    export_model,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from skelgraph.training.registry import build_model, model_spec, pipeline_spec, register_model

ROOT = Path(__file__).resolve().parents[2]
NTU_SAMPLE = ROOT / "datasets/ntu_rgbd/raw/samples/S001C003P008R002A058.skeleton"


def draws():
    return torch.rand(3).tolist(), np.random.rand(3).tolist(), [random.random() for _ in range(3)], \
        np.random.randn(1).tolist()  # randn exercises numpy's cached Gaussian


def test_rng_state_round_trips_through_a_weights_only_load(tmp_path):
    np.random.randn()  # leave a cached Gaussian in numpy's state
    random.gauss(0, 1)
    save_checkpoint(tmp_path / "c.pt", {"model": {}, "rng": rng_state()})
    expected = draws()
    state = torch.load(tmp_path / "c.pt", weights_only=True)["rng"]  # plain torch.load, default safety
    set_rng_state(state)
    assert draws() == expected


class Trap:
    """Unpickling this creates a file: the classic code-execution payload of a malicious .pt."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return builtins.open, (self.path, "w")


@pytest.fixture
def trapped(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "best.pt"
    torch.save({"model": {"w": torch.zeros(2)}, "meta": Trap(marker)}, path)
    return path, marker


def test_booby_trapped_checkpoint_is_refused_without_running(trapped, tmp_path, capsys):
    path, marker = trapped
    with pytest.raises(CheckpointError, match="refused") as err:
        load_checkpoint(path)
    assert "\n" not in str(err.value)
    assert predict_main(["--checkpoint", str(path), str(NTU_SAMPLE)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "refused" in lines[0]
    assert not marker.exists(), "the payload ran"
    # The trap is real: an unsafe load does create the file.
    torch.load(path, weights_only=False)
    assert marker.exists()


@pytest.mark.slow
def test_booby_trapped_checkpoint_through_the_command_line(trapped):
    path, marker = trapped
    out = subprocess.run([sys.executable, "-m", "skelgraph.predict", "--checkpoint", str(path), str(NTU_SAMPLE)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04" + b"\x00" * 40, None],
                         ids=["empty", "text", "bad-zip", "truncated"])
def test_damaged_checkpoint_gives_one_line(tmp_path, content, capsys):
    path = tmp_path / "model.pt"
    if content is None:
        save_checkpoint(path, {"model": {"w": torch.randn(1000)}})
        content = path.read_bytes()[:500]
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)
    assert predict_main(["--checkpoint", str(path), str(NTU_SAMPLE)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


@pytest.mark.parametrize("name", [
    "skelgraph.training.checkpoint.load_checkpoint",  # a skelgraph function that loads another file
    "skelgraph.nn.rrn.RRN",  # a skelgraph module, but not a model a checkpoint may name
    "os.system",
    "builtins.eval",
    None,
])
def test_spec_may_name_only_allow_listed_classes(name):
    with pytest.raises(ValueError, match="refusing"):
        build_model({"class": name, "kwargs": {}})
    with pytest.raises(ValueError, match="refusing"):
        build_model({"class": "skelgraph.nn.arrn.ARRNLSTM", "config_class": name, "config": {}})


def test_registered_classes_round_trip():
    gca = GCALSTM(get_layout("sbu"), num_classes=3, num_frames=4, hidden_channels=8)
    spec = model_spec(gca, layout=get_layout("sbu"), num_classes=3, num_frames=4, hidden_channels=8)
    assert type(build_model(spec)) is GCALSTM
    with pytest.raises(ValueError, match="not a registered"):
        model_spec(RRN(3, 4))

    class Mine(torch.nn.Module):
        def __init__(self, width):
            super().__init__()
            self.fc = torch.nn.Linear(width, 2)

    register_model(Mine)
    assert isinstance(build_model(model_spec(Mine(3), width=3)), Mine)


def test_lean_export_is_the_size_of_the_weights_and_predicts_like_the_model(tmp_path):
    torch.manual_seed(0)
    model = ARRNLSTM.from_paper("ntu", num_classes=60)  # the paper's NTU configuration
    model.set_alpha(0.3)
    fp32_bytes = sum(p.numel() * 4 for p in model.parameters())
    meta = {"model": model_spec(model), "pipeline": pipeline_spec("ntu", 20)}
    export_model(tmp_path / "model.pt", model, meta, [f"c{i}" for i in range(60)])
    size = (tmp_path / "model.pt").stat().st_size
    assert size <= 1.1 * fp32_bytes, (size, fp32_bytes)
    lean = load_checkpoint(tmp_path / "model.pt")
    assert set(lean) == {"format", "model", "meta", "class_names"}, "no optimiser, scheduler or RNG state"
    predictor = Predictor(tmp_path / "model.pt")
    assert float(predictor.model.alpha) == pytest.approx(0.3)
    graph = predictor.transform(to_data(read_ntu_skeleton(NTU_SAMPLE)))
    model.eval()
    with torch.no_grad():
        expected = model(Batch.from_data_list([graph])).softmax(-1)[0]
    top = predictor([read_ntu_skeleton(NTU_SAMPLE)], top=3)[0].top
    assert [name for name, _ in top] == [f"c{i}" for i in expected.topk(3).indices.tolist()]
    assert top[0][1] == pytest.approx(float(expected.max()), rel=1e-5)


def test_pickled_non_dict_is_refused(tmp_path):
    path = tmp_path / "x.pt"
    torch.save([torch.zeros(1)], path)
    with pytest.raises(CheckpointError, match="not a skelgraph checkpoint"):
        load_checkpoint(path)
    path.write_bytes(pickle.dumps({"model": {}}))  # a plain pickle, not a torch zip file
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
