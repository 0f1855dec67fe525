"""Plots draw exactly the arrays they are given: the tests read the drawn coordinates back from the artists."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.transforms import Compose

from skelgraph.data import to_data
from skelgraph.io import read_msr_action3d, read_ntu_skeleton, read_sbu
from skelgraph.nn import ARRNLSTM, GCALSTM, TwoStreamGCALSTM
from skelgraph.skeleton import NTU, SBU
from skelgraph.training.experiment import animate_attention, joint_weights, plot_attention
from skelgraph.training.metrics import ClassificationMeter, fold_summary
from skelgraph.training.plots import (
    SkeletonAnimation,
    confusion_figure,
    front_view,
    history_figure,
    joint_weights_figure,
    plot_confusion,
    plot_history,
    plot_joint_weights,
    skeleton_bodies,
)
from skelgraph.transforms import CenterJoints, FixedLength, StackBodies

plt = pytest.importorskip("matplotlib.pyplot")

DATA = Path(__file__).resolve().parents[2] / "datasets"
REAL = {  # one bundled real file per dataset (Florence 3D's coordinates are not bundled)
    "msr": lambda: read_msr_action3d(DATA / "msr_action3d/raw/MSRAction3DSkeletonReal3D/a01_s01_e01_skeleton3D.txt"),
    "sbu": lambda: read_sbu(DATA / "sbu/raw/s01s02/03/001/skeleton_pos.txt"),
    "ntu_one": lambda: read_ntu_skeleton(DATA / "ntu_rgbd/raw/samples/S001C001P001R001A011.skeleton"),
    "ntu_two": lambda: read_ntu_skeleton(DATA / "ntu_rgbd/raw/samples/S001C003P008R002A058.skeleton"),
}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _png(path):
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    return data


def _bones(fig, panel=0):
    """``{(body, bone name): [2, 2] drawn points}`` of one panel."""
    ax = fig.axes[panel]
    return {line.get_gid(): line.get_xydata() for line in ax.lines if line.get_gid()}


def _joints(fig, panel=0):
    (scatter,) = [c for c in fig.axes[panel].collections if c.get_gid() == "joints"]
    return scatter


def _prepared(seq, stacked=False, T=20):
    data = Compose([CenterJoints(seq.layout), FixedLength(T)])(to_data(seq))
    return StackBodies(2)(data) if stacked else data


def test_skeleton_bodies_separates_components_and_stacked_channels():
    # Generated data: 2 components x 2 stacked bodies of 15 joints, 4 frames; body (m, k) has value 10 m + k.
    J, T = SBU.num_joints, 4
    x = torch.zeros(2 * J, T, 6)
    for m in range(2):
        for k in range(2):
            x[m * J : (m + 1) * J, :, 3 * k : 3 * k + 3] = 10 * m + k + torch.rand(J, T, 3)
    x[J:, 2, 3:] = 0  # body (1, 1) absent in frame 2
    bodies = skeleton_bodies(x, SBU)
    assert bodies.shape == (4, J, T, 3)
    for b, value in enumerate([0, 1, 10, 11]):
        finite = bodies[b][np.isfinite(bodies[b])]
        assert ((finite >= value) & (finite < value + 1)).all(), b
    assert np.isnan(bodies[3, :, 2]).all() and np.isfinite(bodies[2, :, 2]).all()
    with pytest.raises(ValueError, match="expected node features"):
        skeleton_bodies(torch.zeros(16, T, 3), SBU)


def test_front_view_follows_the_layout_up_axis():
    p = np.array([[0.1, 0.2, 0.3]])
    y_down = replace(NTU, name="ntu_image_like", up="-y")
    assert front_view(p, NTU).tolist() == [[0.1, 0.2]]  # y up
    assert front_view(p, y_down).tolist() == [[0.1, -0.2]]  # y grows downwards: drawn negated
    assert front_view(p, y_down, up="+y").tolist() == [[0.1, 0.2]]  # e.g. after ViewNormalize
    assert front_view(p, NTU, up="+z").tolist() == [[0.1, 0.3]]


def test_joint_weights_figure_draws_the_given_coordinates_and_weights():
    # Generated joints and weights.
    rng = np.random.default_rng(0)
    joints = rng.normal(size=(2, NTU.num_joints, 3))
    weights = rng.uniform(0.2, 3.0, size=(2, 2, NTU.num_joints))  # [P, B, J]
    fig = joint_weights_figure(NTU, joints, weights, titles=["a", "b"])
    for p in range(2):
        bones = _bones(fig, p)
        assert len(bones) == 2 * len(NTU.bones)
        for m in range(2):
            for a, b in NTU.bones:
                expected = joints[m, [NTU.index(a), NTU.index(b)]][:, :2]
                np.testing.assert_allclose(bones[f"body {m} bone {a}-{b}"], expected)
        scatter = _joints(fig, p)
        np.testing.assert_allclose(scatter.get_offsets(), joints[:, :, :2].reshape(-1, 2))
        np.testing.assert_allclose(scatter.get_array(), weights[p].reshape(-1))
        # Absolute colour range, shared by the panels: from 0 to the largest weight.
        assert scatter.get_clim() == pytest.approx((0.0, weights.max()))
    assert [ax.get_title() for ax in fig.axes[:2]] == ["a", "b"]


def test_equal_weights_look_equal():
    fig = joint_weights_figure(NTU, np.random.default_rng(1).normal(size=(NTU.num_joints, 3)),
                               np.full(NTU.num_joints, 0.04))
    scatter = _joints(fig)
    assert scatter.get_clim() == pytest.approx((0.0, 0.04))  # not stretched min-max over equal values
    assert len(np.unique(scatter.get_sizes())) == 1
    assert len(np.unique(scatter.to_rgba(scatter.get_array()), axis=0)) == 1


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_samples_are_drawn_upright(name):
    seq = REAL[name]()
    layout = seq.layout
    data = _prepared(seq)
    bodies = skeleton_bodies(data.x, layout)
    assert bodies.shape[0] == seq.num_bodies
    t = 5
    fig = joint_weights_figure(layout, bodies[:, :, t], np.ones(layout.num_joints))
    bones = _bones(fig)
    head, foot = layout.index("Head"), layout.index("FootLeft" if "FootLeft" in layout.joints else "AnkleLeft")
    neck = layout.index("Neck" if "Neck" in layout.joints else "ShoulderCenter")
    for m in range(seq.num_bodies):
        if np.isnan(bodies[m, :, t]).all():
            continue
        drawn = {}
        for a, b in layout.bones:
            pts = bones[f"body {m} bone {a}-{b}"]
            drawn[layout.index(a)], drawn[layout.index(b)] = pts[0], pts[1]
        assert drawn[head][1] > drawn[neck][1] > drawn[foot][1], (name, m)


def test_stacked_sample_draws_two_separate_skeletons():
    seq = REAL["sbu"]()
    data = _prepared(seq, stacked=True)
    assert data.x.shape == (SBU.num_joints, 20, 6)
    bodies = skeleton_bodies(data.x, SBU)
    assert bodies.shape == (2, SBU.num_joints, 20, 3)
    centred = _prepared(seq)  # the same sample, bodies as separate components
    np.testing.assert_allclose(bodies, skeleton_bodies(centred.x, SBU))
    fig = joint_weights_figure(SBU, bodies[:, :, 3], np.ones(SBU.num_joints))
    bones = _bones(fig)
    for m in range(2):
        for a, b in SBU.bones:  # every bone joins two joints of the same person
            expected = front_view(bodies[m, [SBU.index(a), SBU.index(b)], 3], SBU)
            np.testing.assert_allclose(bones[f"body {m} bone {a}-{b}"], expected)
    # The two people stand apart: their drawn torsos do not coincide.
    torso = SBU.index("Torso")
    assert abs(bones["body 0 bone Neck-Torso"][1, 0] - bones["body 1 bone Neck-Torso"][1, 0]) > 0.05
    assert np.isfinite(bodies[:, torso, 3]).all()


def test_gca_weights_are_per_visit_means_relative_to_uniform():
    torch.manual_seed(0)
    seq = REAL["sbu"]()
    data = _prepared(seq, stacked=True)
    model = GCALSTM(SBU, 8, num_frames=20, in_channels=6, hidden_channels=8)
    jw = joint_weights(model, data)
    assert jw.weights.shape == (2, 1, SBU.num_joints, 20)  # N = 2 iterations, one (stacked) skeleton
    assert "mean over the 29 chain positions' visits" in jw.description and "uniform" in jw.label
    chain = SBU.chain("tree")
    model.eval()
    from torch_geometric.data import Batch

    with torch.no_grad():
        scores = model.attention(Batch.from_data_list([data]))
    for r, w in zip(scores, jw.weights):
        for j in range(SBU.num_joints):
            visits = (chain == j).nonzero().flatten()
            torch.testing.assert_close(w[0, j], r[0, visits].mean(0) * (len(chain) * 20))
    # An untrained model attends about uniformly; per-visit means show that instead of the visit counts.
    counts = torch.bincount(chain).float()
    mean_map = jw.weights[0, 0].mean(-1)
    assert abs(float(torch.corrcoef(torch.stack([mean_map, counts]))[0, 1])) < 0.9
    two = TwoStreamGCALSTM(SBU, 8, num_frames=20, in_channels=6, hidden_channels=8)
    jw2 = joint_weights(two, data)
    assert jw2.weights.shape[0] == 4 and jw2.titles[2].startswith("coarse")


def test_plot_attention_and_animation_of_a_stacked_sample(tmp_path):
    torch.manual_seed(0)
    seq = REAL["sbu"]()
    data = _prepared(seq, stacked=True)
    data.num_frames = torch.tensor([12])  # 12 real frames, then padding
    model = GCALSTM(SBU, 8, num_frames=20, in_channels=6, hidden_channels=8)
    _png(plot_attention(model, data, SBU, tmp_path / "att.png"))
    gif = animate_attention(model, data, SBU, tmp_path / "att.gif")
    from PIL import Image

    with Image.open(gif) as im:
        assert im.n_frames == 12  # the real frames only
    arrn = ARRNLSTM(num_joints=15, num_classes=8, in_channels=6, M=4, E=1, att_channels=4, lstm_sizes=(4,))
    _png(plot_attention(arrn, data, SBU, tmp_path / "mask.png"))


def test_animation_draws_every_frame():
    seq = REAL["sbu"]()
    bodies = skeleton_bodies(_prepared(seq, stacked=True).x, SBU)  # [2, J, T, 3]
    T = bodies.shape[2]
    weights = np.random.default_rng(0).uniform(0, 2, size=(1, 2, SBU.num_joints, T))
    anim = SkeletonAnimation(SBU, bodies, weights, titles=["w"], suptitle="test")
    assert anim.num_frames == T
    for t in (0, 7, T - 1):
        anim.draw(t)
        bones = _bones(anim.figure)
        a, b = SBU.bones[3]
        expected = front_view(bodies[1, [SBU.index(a), SBU.index(b)], t], SBU)
        np.testing.assert_allclose(bones[f"body 1 bone {a}-{b}"], expected)
        np.testing.assert_allclose(_joints(anim.figure).get_array(), weights[0, :, :, t].reshape(-1))
        assert anim.figure._suptitle.get_text().endswith(f"frame {t + 1} / {T}")


def test_history_compares_like_with_like(tmp_path):
    # An ARRN-like history: per-stream and fused losses on both splits; the summed objective is twice as large.
    history = [{"epoch": e, "train_loss": 4.2 / e, "train_loss_joint": 2.1 / e, "train_loss_line": 2.1 / e,
                "train_loss_fused": 2.0 / e, "val_loss": 2.2 / e, "val_loss_joint": 2.3 / e,
                "val_loss_line": 2.2 / e, "val_loss_fused": 2.2 / e, "val_top1": e / 10, "val_top5": e / 8}
               for e in range(1, 6)]
    fig = history_figure(history)
    ax, ax_acc = fig.axes
    labels = {line.get_label(): line for line in ax.lines}
    assert set(labels) == {f"{t} ({s})" for t in ("joint", "line", "fused") for s in ("train", "validation")}
    np.testing.assert_allclose(labels["fused (train)"].get_ydata(), [2.0 / e for e in range(1, 6)])
    np.testing.assert_allclose(labels["fused (validation)"].get_ydata(), [2.2 / e for e in range(1, 6)])
    assert labels["joint (train)"].get_color() == labels["joint (validation)"].get_color()
    assert ax_acc.get_ylim() == (0, 1)  # accuracy on the second axis
    np.testing.assert_allclose(ax_acc.lines[0].get_ydata(), [e / 10 for e in range(1, 6)])
    # Without loss terms: the training and validation loss, with stepwise step changes marked.
    plain = [{"epoch": e, "train_loss": 2 / e, "val_loss": 2.2 / e, "val_top1": e / 10, "step": int(e >= 3)}
             for e in range(1, 6)]
    fig = history_figure(plain)
    assert {line.get_label() for line in fig.axes[0].lines if not line.get_label().startswith("_")} == {
        "loss (train)", "loss (validation)"}
    assert any(tuple(line.get_xdata()) == (2.5, 2.5) for line in fig.axes[0].lines)
    _png(plot_history(history, tmp_path / "curves.png", title="msr_action3d, subset AS1"))
    # A monitored test split is drawn in its own colour and label (it selects nothing).
    watched = [dict(h, test_top1=e / 20) for e, h in enumerate(history, 1)]
    test_line = [line for line in history_figure(watched).axes[1].lines if line.get_label().startswith("test top-1")]
    assert len(test_line) == 1 and "selects nothing" in test_line[0].get_label()
    np.testing.assert_allclose(test_line[0].get_ydata(), [e / 20 for e in range(1, 6)])


def test_confusion_figure_title_and_counts(tmp_path):
    fig = confusion_figure(torch.tensor([[3, 1], [0, 2]]), ["wave", "clap"], title="sbu, fold 0, test: top-1 83.3%")
    ax = fig.axes[0]
    assert ax.get_title() == "sbu, fold 0, test: top-1 83.3%"
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.75, 0.25], [0.0, 1.0]])
    assert sorted(t.get_text() for t in ax.texts) == ["1", "2", "3"]
    _png(plot_confusion(torch.eye(4, dtype=torch.long) * 3, ["wave", "clap", "kick", "bow"], tmp_path / "cm.png"))
    _png(plot_joint_weights(NTU, torch.randn(25, 3), torch.rand(2, 25), tmp_path / "att.png", titles=["1", "2"]))


def test_meter_matches_plain_counts():
    torch.manual_seed(0)
    scores = torch.randn(50, 6)
    target = torch.randint(0, 6, (50,))
    meter = ClassificationMeter(6)
    meter.update(scores[:20], target[:20], 3.0, {"joint": 0.5})
    meter.update(scores[20:], target[20:], 2.0, {"joint": 1.0})
    out = meter.compute()
    pred = scores.argmax(1)
    assert out["top1"] == pytest.approx(float((pred == target).float().mean()))
    top5 = sum(int(t in s.topk(5).indices) for s, t in zip(scores, target)) / 50
    assert out["top5"] == pytest.approx(top5)
    assert out["loss"] == pytest.approx(0.1)
    assert out["loss_joint"] == pytest.approx((0.5 * 20 + 1.0 * 30) / 50)  # batch means weighted by size
    for c in range(6):
        assert int(meter.confusion[c].sum()) == int((target == c).sum())
        assert int(meter.confusion[c, c]) == int(((pred == c) & (target == c)).sum())
    per_class = meter.per_class_accuracy()
    assert out["mean_class_accuracy"] == pytest.approx(float(per_class[~per_class.isnan()].mean()))


def test_fold_summary():
    s = fold_summary([0.8, 0.9, 1.0])
    assert s["mean"] == pytest.approx(0.9) and s["std"] == pytest.approx(0.1) and s["n"] == 3
    assert fold_summary([0.5])["std"] == 0.0
