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


@pytest.mark.slow
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
    # Accuracy in its own panel below (not on the loss panel's frame), sharing the epochs.
    assert ax_acc.get_ylim() == (-0.02, 1.02) and ax_acc.get_position().y1 < ax.get_position().y0
    assert ax_acc.get_shared_x_axes().joined(ax, ax_acc)
    np.testing.assert_allclose(ax_acc.lines[0].get_ydata(), [e / 10 for e in range(1, 6)])
    assert ax.get_title() == "training and validation loss, validation accuracy (selects the epoch)"
    assert ax.get_yscale() == "linear"  # 0.4 .. 2.3: no need for a log axis
    # Without loss terms: the training and validation loss, with stepwise step changes marked and labelled.
    plain = [{"epoch": e, "train_loss": 2 / e**3, "val_loss": 2.2 / e**3, "val_top1": e / 10, "step": int(e >= 3)}
             for e in range(1, 6)]
    fig = history_figure(plain, context="sbu, fold 0")
    assert {line.get_label() for line in fig.axes[0].lines if not line.get_label().startswith("_")} == {
        "loss (train)", "loss (validation)"}
    assert fig.axes[0].get_yscale() == "log"  # losses over two decades: both ends readable
    for a in fig.axes:
        assert any(tuple(line.get_xdata()) == (2.5, 2.5) for line in a.lines)
    steps = {t.get_gid(): t for t in fig.axes[0].texts if t.get_gid()}
    assert set(steps) == {"step 0", "step 1"} and steps["step 1"].get_position()[0] == 2.5
    assert fig.axes[0].get_title().startswith("sbu, fold 0: training and validation loss")
    _png(plot_history(history, tmp_path / "curves.png", context="msr_action3d, subset AS1"))
    # A monitored test split is drawn in its own colour and label (it selects nothing).
    watched = [dict(h, test_top1=e / 20) for e, h in enumerate(history, 1)]
    test_line = [line for line in history_figure(watched).axes[1].lines if line.get_label().startswith("test top-1")]
    assert len(test_line) == 1 and "selects nothing" in test_line[0].get_label()
    np.testing.assert_allclose(test_line[0].get_ydata(), [e / 20 for e in range(1, 6)])
    # No validation split: the title says what is drawn, and that the test curve selects nothing.
    unvalidated = [{"epoch": e, "train_loss": 2 / e, "test_top1": e / 10, "test_loss": 1.0} for e in range(1, 4)]
    fig = history_figure(unvalidated)
    assert fig.axes[0].get_title() == "training loss and test top-1 (monitored, selects nothing)"
    assert [line.get_label() for line in fig.axes[0].lines] == ["loss (train)"]


def test_confusion_figure_title_and_counts(tmp_path):
    fig = confusion_figure(torch.tensor([[3, 1], [0, 2]]), ["wave", "clap"], title="sbu, fold 0, test: top-1 83.3%")
    ax = fig.axes[0]
    assert ax.get_title() == "sbu, fold 0, test: top-1 83.3%"
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.75, 0.25], [0.0, 1.0]])
    assert sorted(t.get_text() for t in ax.texts) == ["1", "2", "3"]
    _png(plot_confusion(torch.eye(4, dtype=torch.long) * 3, ["wave", "clap", "kick", "bow"], tmp_path / "cm.png"))
    _png(plot_joint_weights(NTU, torch.randn(25, 3), torch.rand(2, 25), tmp_path / "att.png", titles=["1", "2"]))


def test_weights_around_a_reference_use_a_diverging_scale_centred_on_it():
    """GCA scores of 0.96-1.02 of uniform: white at 1, symmetric range 0.96-1.04, the range in the colour bar."""
    joints = np.random.default_rng(0).normal(size=(25, 3))
    weights = np.linspace(0.96, 1.02, 25)
    fig = joint_weights_figure(NTU, joints, weights, center=1.0, label="score / uniform (1 = uniform)")
    scatter = _joints(fig)
    assert scatter.get_clim() == pytest.approx((0.96, 1.04))
    assert scatter.get_cmap().name == "RdBu_r"
    np.testing.assert_allclose(scatter.norm(1.0), 0.5)  # the centre is the colour map's middle (white)
    colour_bar = fig.axes[-1]
    assert colour_bar.get_ylabel() == "score / uniform (1 = uniform)\nrange 0.96 to 1.02"
    assert colour_bar.get_ylim() == pytest.approx((0.96, 1.04))
    # A mask still at its initial 1.0 everywhere is one neutral colour, not a stretched contrast; one that moved
    # by 1e-4 stays pale (the scale is at least 2 % of its centre wide), and the label tells the values apart.
    flat = _joints(joint_weights_figure(NTU, joints, np.ones(25), center=1.0))
    colours = flat.to_rgba(flat.get_array())
    assert np.allclose(colours, colours[0]) and np.allclose(flat.norm(1.0), 0.5)
    fig = joint_weights_figure(NTU, joints, 1 + 1e-4 * np.linspace(-1, 1, 25), center=1.0, label="m")
    assert _joints(fig).get_clim() == pytest.approx((0.98, 1.02))
    assert fig.axes[-1].get_ylabel() == "m\nrange 0.9999 to 1.0001"


@pytest.mark.slow
def test_png_and_gif_of_a_run_share_one_colour_scale(tmp_path):
    torch.manual_seed(0)
    data = _prepared(REAL["sbu"](), stacked=True)
    model = GCALSTM(SBU, 8, num_frames=20, in_channels=6, hidden_channels=8)
    seen = {}
    import skelgraph.training.plots as plots_mod

    originals = (plots_mod.plot_joint_weights, plots_mod.SkeletonAnimation)

    def png(*args, **kwargs):
        seen["png"] = (kwargs["vmin"], kwargs["vmax"], kwargs["center"])
        return originals[0](*args, **kwargs)

    class Gif(originals[1]):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            seen["gif"] = (self.vmin, self.vmax, kwargs["center"])

    plots_mod.plot_joint_weights, plots_mod.SkeletonAnimation = png, Gif
    try:
        plot_attention(model, data, SBU, tmp_path / "a.png")
        animate_attention(model, data, SBU, tmp_path / "a.gif")
    finally:
        plots_mod.plot_joint_weights, plots_mod.SkeletonAnimation = originals
    assert seen["png"] == pytest.approx(seen["gif"]) and seen["png"][2] == 1.0
    lo, hi, c = seen["png"]
    assert hi - c == pytest.approx(c - lo)


def test_keypoint_scores_set_opacity_and_a_low_score_person_is_labelled():
    """Two 2-D people: a confident one drawn opaque, a ghost detection (mean score 0.12) faint, dashed, labelled."""
    from skelgraph.skeleton import get_layout

    coco = get_layout("coco17")
    rng = np.random.default_rng(1)
    joints = np.stack([rng.normal(size=(17, 2)), rng.normal(size=(17, 2)) + 5])
    scores = np.stack([np.full(17, 0.9), np.full(17, 0.12)])
    scores[0, 3] = 0.05  # one uncertain keypoint of the confident person
    fig = joint_weights_figure(coco, joints, np.ones((2, 17)), center=1.0, scores=scores)
    alphas = _joints(fig).get_alpha()
    np.testing.assert_allclose(alphas[:17][[0, 3]], [0.9, 0.12])  # 0.05 is drawn at the faint minimum
    np.testing.assert_allclose(alphas[17:], 0.12)
    labels = {t.get_gid(): t for t in fig.axes[0].texts}
    assert not labels["body 0 label"].get_visible()
    assert labels["body 1 label"].get_visible() and labels["body 1 label"].get_text() == "low score, mean 0.12"
    lines = {line.get_gid(): line for line in fig.axes[0].lines}
    a, b = coco.bones[0]
    assert lines[f"body 1 bone {a}-{b}"].get_linestyle() == "--"
    assert lines[f"body 0 bone {a}-{b}"].get_linestyle() == "-"
    assert lines[f"body 1 bone {a}-{b}"].get_alpha() == pytest.approx(0.12)


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


class _Lookup(torch.nn.Module):
    """Scores read from a table by each sample's ``idx``: a model whose confidence per sample is known."""

    def __init__(self, table):
        super().__init__()
        self.table = torch.nn.Parameter(torch.as_tensor(table, dtype=torch.float32))

    def forward(self, batch):
        return self.table[batch.idx]


def test_the_plotted_sample_is_the_most_confident_correct_one_unless_given():
    from torch_geometric.data import Data

    from skelgraph.training.experiment import plot_sample

    samples = [Data(x=torch.zeros(2, 1, 3), y=torch.tensor([y]), idx=torch.tensor([i]))
               for i, y in enumerate([0, 1, 1, 0])]
    # sample 1 is the most confident overall but wrong; sample 2 is the most confident correct one
    table = [[2.0, 0.0], [9.0, 0.0], [0.0, 4.0], [1.0, 0.0]]
    index, rule = plot_sample(_Lookup(table), samples, class_names=["wave", "clap"])
    assert index == 2 and rule.startswith("test sample 2: the most confident correctly classified one")
    assert "'clap'" in rule
    index, rule = plot_sample(_Lookup([[0.0, 1.0], [3.0, 0.0], [5.0, 0.0], [0.0, 1.0]]), samples)
    assert index == 2 and "none is classified correctly" in rule
    assert plot_sample(_Lookup(table), samples, index=3) == (3, "test sample 3 (--plot-sample)")
    with pytest.raises(ValueError, match="4 samples"):
        plot_sample(_Lookup(table), samples, index=4)
