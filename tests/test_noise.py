"""The noise-robustness command end to end on a tiny checkpoint trained on the bundled SBU data."""

import json
from pathlib import Path

import pytest
import torch

from skelgraph.data import to_data
from skelgraph.datasets import SBU
from skelgraph.io import read_sbu
from skelgraph.nn import GCALSTM
from skelgraph.noise import PAPER_SIGMAS_CM, main, noisy_pipeline, units_per_cm
from skelgraph.skeleton import SBU as SBU_LAYOUT
from skelgraph.training import TrainConfig, Trainer
from skelgraph.training.checkpoint import load_checkpoint
from skelgraph.training.experiment import coordinate_scale
from skelgraph.training.registry import build_transform, model_spec, pipeline_spec

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A one-epoch GCA-LSTM on a few real SBU samples, saved as the recipes save it (model spec, pipeline with
    stacked bodies and a coordinate scale, dataset protocol)."""
    tmp = tmp_path_factory.mktemp("noise")
    root = tmp / "sbu"
    root.mkdir()
    (root / "raw").symlink_to(ROOT / "datasets" / "sbu" / "raw")
    train = SBU(str(root), fold=0, split="train")
    spec = pipeline_spec("sbu", T=8, scale=coordinate_scale(train, SBU_LAYOUT), stack_bodies=2)
    train.transform = build_transform(spec, train=True)
    torch.manual_seed(0)
    model = GCALSTM(SBU_LAYOUT, 8, num_frames=8, in_channels=6, hidden_channels=4)
    meta = {"model": model_spec(model), "pipeline": spec, "dataset": {"name": "sbu", "fold": 0}}
    config = TrainConfig(epochs=1, batch_size=16, optimizer="adam", lr=1e-2, progress=False)
    trainer = Trainer(model, train[::6], None, config, out_dir=tmp / "run", class_names=SBU.class_names, meta=meta)
    trainer.fit()
    trainer.finish(meta)
    return tmp / "run" / "model.pt", str(root)


def test_units_per_cm():
    assert units_per_cm({"name": "sbu", "fold": 0}) == pytest.approx((10 / 2560, 10 / 1920, 10 / 1280))
    assert units_per_cm({"name": "ntu60"}) == (0.01, 0.01, 0.01)
    with pytest.raises(ValueError, match="not documented"):
        units_per_cm({"name": "florence_3d"})


def test_noise_is_added_in_raw_units_before_the_scaling(checkpoint):
    pipeline_spec = load_checkpoint(checkpoint[0])["meta"]["pipeline"]
    assert pipeline_spec["scale"] != 1.0 and pipeline_spec["stack_bodies"] == 2
    pipeline = build_transform(pipeline_spec)
    raw = to_data(read_sbu(ROOT / "datasets/sbu/raw/s01s02/03/001/skeleton_pos.txt"))
    sigma = [1e-3, 2e-3, 3e-3]
    torch.manual_seed(5)
    noisy = noisy_pipeline(pipeline, sigma)(raw.clone())
    torch.manual_seed(5)  # the same draw added by hand to the raw coordinates, then the recipe's pre-processing
    by_hand = raw.clone()
    by_hand.x = by_hand.x + torch.randn(2, 15, *raw.x.shape[1:]).view_as(raw.x) * torch.tensor(sigma)
    torch.testing.assert_close(noisy.x, pipeline(by_hand).x)
    clean = pipeline(raw.clone()).x
    # In the model's units the noise is scaled with the coordinates (about sigma * scale per axis).
    ratio = float((noisy.x - clean).std() / (pipeline_spec["scale"] * 2e-3))
    assert 0.5 < ratio < 2.0


def test_noise_command_end_to_end(checkpoint, tmp_path, capsys):
    ckpt, root = checkpoint
    out = tmp_path / "out"
    assert main(["--checkpoint", str(ckpt), "--data-root", root, "--sigmas", "0", "1", "32", "--draws", "2",
                 "--batch-size", "16", "--out", str(out)]) == 0
    table = json.loads((out / "noise.json").read_text())
    assert (out / "noise.png").read_bytes()[:4] == b"\x89PNG"
    assert table["dataset"] == {"name": "sbu", "fold": 0} and table["split"] == "test"
    assert table["samples"] > 50  # the whole test split of fold 0
    rows = {r["sigma_cm"]: r for r in table["results"]}
    assert set(rows) == {0.0, 1.0, 32.0}
    assert rows[0.0]["top1"] == [table["clean_top1"]] * 2  # no noise: every draw is the clean accuracy
    assert rows[32.0]["sigma_data"] == pytest.approx([32 * u for u in (10 / 2560, 10 / 1920, 10 / 1280)])
    for r in rows.values():
        assert len(r["top1"]) == 2 and r["top1_mean"] == pytest.approx(sum(r["top1"]) / 2)
    assert set(map(float, table["paper_table_vi"]["top1"])) == set(PAPER_SIGMAS_CM)
    assert "sigma    32 cm" in capsys.readouterr().out


def test_noise_command_errors(checkpoint, tmp_path, capsys):
    not_a_checkpoint = tmp_path / "x.pt"
    torch.save({"model": {}}, not_a_checkpoint)
    assert main(["--checkpoint", str(not_a_checkpoint)]) == 2
    assert main(["--checkpoint", str(tmp_path / "missing.pt")]) == 2
    assert main(["--checkpoint", str(checkpoint[0]), "--units-per-cm", "1", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("error: ") for line in err)
    for bad in (["--sigmas", "nan"], ["--sigmas", "1", "inf"], ["--units-per-cm", "0"], ["--units-per-cm", "nan"]):
        assert main(["--checkpoint", str(checkpoint[0]), *bad]) == 2, bad  # checked before anything is read
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and ("sigma" in err[0] or "--units-per-cm" in err[0])


def test_a_checkpoint_whose_model_cannot_be_built_is_one_line(checkpoint, tmp_path, capsys):
    ckpt = load_checkpoint(checkpoint[0])
    ckpt["meta"]["model"]["kwargs"]["hidden_channels"] = 10**9
    bad = tmp_path / "bad.pt"
    torch.save(ckpt, bad)
    assert main(["--checkpoint", str(bad), "--data-root", checkpoint[1], "--draws", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "hidden_channels must be an integer" in err[0] and str(bad) in err[0]


def test_a_full_disk_when_writing_the_table_is_one_line(checkpoint, tmp_path, monkeypatch, capsys):
    def full(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    ckpt, root = checkpoint
    monkeypatch.setattr(Path, "write_text", full)
    assert main(["--checkpoint", str(ckpt), "--data-root", root, "--sigmas", "1", "--draws", "1",
                 "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0] and "noise.json" in err[0]
