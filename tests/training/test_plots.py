import numpy as np
import pytest
import torch

from skelgraph.skeleton import NTU
from skelgraph.training.metrics import ClassificationMeter, fold_summary
from skelgraph.training.plots import plot_confusion, plot_history, plot_joint_weights

pytest.importorskip("matplotlib")


def _png(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    return data


def test_plots_write_pngs(tmp_path):
    history = [{"epoch": e, "train_loss": 2 / e, "val_loss": 2.2 / e, "val_top1": e / 10, "val_top5": e / 8,
                "step": 0 if e < 3 else 1} for e in range(1, 6)]
    _png(plot_history(history, tmp_path / "curves.png"))
    _png(plot_confusion(torch.eye(4, dtype=torch.long) * 3, ["wave", "clap", "kick", "bow"], tmp_path / "cm.png"))
    joints = torch.randn(25, 3)
    _png(plot_joint_weights(NTU, joints, torch.rand(2, 25), tmp_path / "att.png", titles=["n=1", "n=2"]))
    _png(plot_joint_weights(NTU, joints, np.ones(25), tmp_path / "flat.png"))


def test_meter_matches_plain_counts():
    torch.manual_seed(0)
    scores = torch.randn(50, 6)
    target = torch.randint(0, 6, (50,))
    meter = ClassificationMeter(6)
    meter.update(scores[:20], target[:20], 3.0)
    meter.update(scores[20:], target[20:], 2.0)
    out = meter.compute()
    pred = scores.argmax(1)
    assert out["top1"] == pytest.approx(float((pred == target).float().mean()))
    top5 = sum(int(t in s.topk(5).indices) for s, t in zip(scores, target)) / 50
    assert out["top5"] == pytest.approx(top5)
    assert out["loss"] == pytest.approx(0.1)
    for c in range(6):
        assert int(meter.confusion[c].sum()) == int((target == c).sum())
        assert int(meter.confusion[c, c]) == int(((pred == c) & (target == c)).sum())
    per_class = meter.per_class_accuracy()
    assert out["mean_class_accuracy"] == pytest.approx(float(per_class[~per_class.isnan()].mean()))


def test_fold_summary():
    s = fold_summary([0.8, 0.9, 1.0])
    assert s["mean"] == pytest.approx(0.9) and s["std"] == pytest.approx(0.1) and s["n"] == 3
    assert fold_summary([0.5])["std"] == 0.0
