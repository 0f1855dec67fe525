"""Plots: training curves, confusion matrix, joint weights (ARRN mask, GCA-LSTM attention) on the skeleton, and
an animated skeleton (GIF) with per-frame joint weights.

Every picture is built by a ``*_figure`` function (or :class:`SkeletonAnimation`) that takes arrays and draws
exactly them, so tests can read the drawn coordinates back from the matplotlib artists; the ``plot_*``
functions save the figure and return the file's path.

Skeletons are drawn in a front view: the layout's up axis (:attr:`~skelgraph.skeleton.Layout.up`, e.g. ``-y``
for SBU, whose y grows downwards) points up, the first other axis across, depth is left out. A sample whose
``x`` holds several skeletons (``[M * J, T, C]``, one component per body) or several bodies side by side in the
channels (``[J, T, k * ndim]``, :class:`~skelgraph.transforms.StackBodies`) is drawn as that many separate
skeletons. Weights with a reference value (``center``: 1 for GCA-LSTM scores given as multiples of uniform
attention, 1 for the ARRN mask's initial value) are drawn on a diverging scale centred on it and symmetric about
it, so "more than uniform" and "less than uniform" read apart and a map that never left its reference is one
neutral colour, not a stretched contrast; the colour bar says what the centre is and the range drawn. Without a
reference, scales are absolute (from zero). 2-D keypoints with confidence scores are drawn with their scores:
faint where low, and a person whose mean score is below :data:`LOW_SCORE` is dashed and labelled as such.

Needs matplotlib (``pip install skelgraph[plot]``); it is imported lazily with the Agg backend; GIFs are written
with matplotlib's Pillow writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from skelgraph.skeleton import Layout

#: Bone colours of the first, second, ... body of a sample.
BODY_COLOURS: tuple[str, ...] = ("tab:blue", "tab:orange", "tab:green", "tab:purple")
_CMAP = "magma_r"
#: Colour map of weights around a reference value (blue below, red above, white at it).
DIVERGING_CMAP = "RdBu_r"
#: A person whose mean keypoint score in a frame is below this is drawn faint, dashed and labelled "low score".
LOW_SCORE = 0.3
#: Opacity of a keypoint (or bone) of score 0: faint, never invisible.
MIN_ALPHA = 0.12
#: Smallest half-width of a centred colour range, relative to its centre: deviations below 2 % of uniform attention
#: (or of a mask's initial value) stay pale instead of being stretched to the full colour map.
MIN_CENTRED_SPAN = 0.02


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("plots need matplotlib: pip install 'skelgraph[plot]'") from err
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _array(values: Any) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.float64)


# ---------------------------------------------------------------------------------------------- skeleton geometry
def skeleton_bodies(x: torch.Tensor | np.ndarray, layout: Layout, channels_per_body: int | None = None) -> np.ndarray:
    """The separate bodies of one sample's node features, ``[B, J, T, D]``.

    ``x`` is ``[M * J, T, C]`` (:func:`~skelgraph.data.to_data`: body ``m`` is nodes ``m * J .. m * J + J - 1``)
    with ``C = k * D`` channels, ``k`` bodies side by side per joint (:class:`~skelgraph.transforms.StackBodies`)
    and ``D = channels_per_body`` (default: the layout's ``ndim``). Bodies come out component by component,
    and within a component in channel order, so ``B = M * k``. Frames in which a body is absent (all its
    coordinates zero, as the readers and transforms leave them) are NaN, so nothing is drawn there.
    """
    x = _array(x)
    J, D = layout.num_joints, channels_per_body or layout.ndim
    if x.ndim != 3 or x.shape[0] % J or x.shape[2] % D:
        raise ValueError(f"expected node features [M * {J}, T, k * {D}] for layout {layout.name!r}, got {x.shape}")
    M, T, k = x.shape[0] // J, x.shape[1], x.shape[2] // D
    bodies = x.reshape(M, J, T, k, D).transpose(0, 3, 1, 2, 4).reshape(M * k, J, T, D)
    absent = ~(bodies != 0).any(axis=(1, 3))  # [B, T]
    return np.where(absent[:, None, :, None], np.nan, bodies)


def front_view(coords: Any, layout: Layout, up: str | None = None) -> np.ndarray:
    """Project coordinates ``[..., D]`` to the front view ``[..., 2]``: (across, up).

    ``up`` overrides the layout's up axis (e.g. ``"+y"`` for view-normalised data, whose hip -> spine points
    along +y whatever the sensor's convention).
    """
    c = _array(coords)
    h, v = layout.front_axes
    sign = layout.up_sign
    if up is not None:
        v, sign = "xyz".index(up[1]), 1 if up[0] == "+" else -1
        h = 0 if v != 0 else 1
    return np.stack([c[..., h], sign * c[..., v]], axis=-1)


def centred_range(weights: Any, center: float) -> tuple[float, float]:
    """The colour range symmetric about ``center`` that holds every finite weight: ``center -+ max |w - center|``,
    at least :data:`MIN_CENTRED_SPAN` of the centre wide, so weights that hardly left it stay pale (no invented
    contrast)."""
    w = _array(weights)
    finite = w[np.isfinite(w)]
    d = float(np.abs(finite - center).max()) if finite.size else 0.0
    d = max(d, MIN_CENTRED_SPAN * max(abs(center), 1e-12))
    return center - d, center + d


def _two(lo: float, hi: float, center: float | None) -> tuple[str, str]:
    """``lo`` and ``hi`` with just enough digits (at least 3) to tell apart the values that differ among them and
    ``center``."""
    values = [lo, hi] + ([center] if center is not None else [])
    for digits in range(3, 10):
        shown = [f"{v:.{digits}g}" for v in values]
        if all(shown[i] != shown[j] for i in range(len(values)) for j in range(i) if values[i] != values[j]):
            break
    return shown[0], shown[1]


def colour_bar_label(label: str, weights: Any, center: float | None) -> str:
    """``label`` with the range of the finite weights (and the centre of a diverging scale)."""
    w = _array(weights)
    finite = w[np.isfinite(w)]
    if not finite.size:
        return label
    lo, hi = _two(float(finite.min()), float(finite.max()), center)
    span = f"all {lo}" if lo == hi else f"range {lo} to {hi}"
    return f"{label}\n{span}"


def _colour_range(weights: np.ndarray, vmin: float | None, vmax: float | None,
                  center: float | None = None) -> tuple[float, float]:
    """Centred on ``center`` when given (:func:`centred_range`), else absolute: from ``min(0, weights)`` to
    ``max(weights)``; ``vmin`` / ``vmax`` override."""
    if center is not None and vmin is None and vmax is None:
        return centred_range(weights, center)
    finite = weights[np.isfinite(weights)]
    lo = float(min(0.0, finite.min())) if vmin is None and finite.size else (vmin if vmin is not None else 0.0)
    hi = float(finite.max()) if vmax is None and finite.size else (vmax if vmax is not None else 1.0)
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi


class _SkeletonArtists:
    """The artists of the skeletons of one panel: a line per bone per body, one scatter for every joint, and a
    label per body (shown for a low-score person)."""

    def __init__(self, ax: Any, layout: Layout, num_bodies: int, vmin: float, vmax: float,
                 cmap: str = _CMAP) -> None:
        self.layout, self.vmin, self.vmax = layout, vmin, vmax
        self.bones = [(layout.index(a), layout.index(b)) for a, b in layout.bones]
        self.lines = []
        for m in range(num_bodies):
            for (a, b), (i, j) in zip(layout.bones, self.bones):
                (line,) = ax.plot([], [], color=BODY_COLOURS[m % len(BODY_COLOURS)], lw=1.6, zorder=1)
                line.set_gid(f"body {m} bone {a}-{b}")
                self.lines.append((m, i, j, line))
        self.scatter = ax.scatter(np.zeros(num_bodies * layout.num_joints), np.zeros(num_bodies * layout.num_joints),
                                  c=np.zeros(num_bodies * layout.num_joints), cmap=cmap, vmin=vmin, vmax=vmax,
                                  edgecolors="k", linewidths=0.5, zorder=2)
        self.scatter.set_gid("joints")
        self.labels = []
        for m in range(num_bodies):
            text = ax.text(0, 0, "", ha="center", va="bottom", fontsize=8, color="dimgrey", visible=False, zorder=3)
            text.set_gid(f"body {m} label")
            self.labels.append(text)

    def update(self, points: np.ndarray, weights: np.ndarray, scores: np.ndarray | None = None) -> list[Any]:
        """``points`` ``[B, J, 2]`` in the front view, ``weights`` ``[B, J]``, ``scores`` ``[B, J]`` keypoint
        confidences (None: none known, everything opaque)."""
        low = np.zeros(points.shape[0], dtype=bool)
        if scores is not None:
            present = np.isfinite(points).all(-1)
            means = np.array([scores[m][present[m]].mean() if present[m].any() else np.nan
                              for m in range(points.shape[0])])
            low = means < LOW_SCORE
            alpha = np.clip(np.nan_to_num(scores, nan=0.0), MIN_ALPHA, 1.0)
        for m, i, j, line in self.lines:
            line.set_data(points[m, [i, j], 0], points[m, [i, j], 1])
            if scores is not None:
                line.set_alpha(float(min(alpha[m, i], alpha[m, j])))
                line.set_linestyle("--" if low[m] else "-")
        flat = points.reshape(-1, 2)
        w = weights.reshape(-1)
        self.scatter.set_offsets(flat)
        self.scatter.set_array(w)
        if scores is not None:
            self.scatter.set_alpha(alpha.reshape(-1))
        scale = np.clip((np.nan_to_num(w, nan=self.vmin) - self.vmin) / (self.vmax - self.vmin), 0, 1)
        self.scatter.set_sizes(12 + 110 * scale)
        for m, text in enumerate(self.labels):
            finite = points[m][np.isfinite(points[m]).all(-1)]
            text.set_visible(bool(low[m]) and finite.size > 0)
            if low[m] and finite.size:
                text.set_text(f"low score, mean {means[m]:.2f}")
                text.set_position((float(finite[:, 0].mean()), float(finite[:, 1].max())))
        return [line for *_, line in self.lines] + [self.scatter] + self.labels


def _panel_figure(plt: Any, panels: int, points: np.ndarray) -> tuple[Any, list[Any]]:
    """A figure of ``panels`` axes side by side, each about as wide as the drawn points need."""
    finite = points.reshape(-1, 2)
    finite = finite[np.isfinite(finite).all(axis=1)]
    extent = finite.max(axis=0) - finite.min(axis=0) if finite.size else np.ones(2)
    width = float(np.clip(3.8 * (extent[0] + 1e-6) / (extent[1] + 1e-6), 1.8, 6.0))
    fig, axes = plt.subplots(1, panels, figsize=(width * panels + 1.4, 4.6), squeeze=False, layout="constrained")
    return fig, list(axes[0])


def _wrap(text: str, fig: Any) -> str:
    """``text`` broken into lines that fit the figure's width (about 13 characters per inch at 10 pt)."""
    import textwrap

    width = max(30, int(13 * fig.get_figwidth()))
    return "\n".join(textwrap.fill(line, width) for line in text.split("\n"))


def _frame_limits(ax: Any, points: np.ndarray) -> None:
    """Equal-aspect limits that hold every finite point (all frames), with a margin."""
    finite = points.reshape(-1, 2)
    finite = finite[np.isfinite(finite).all(axis=1)]
    if finite.size == 0:
        return
    lo, hi = finite.min(axis=0), finite.max(axis=0)
    pad = 0.08 * float(max(hi - lo)) + 1e-6
    ax.set_xlim(lo[0] - pad, hi[0] + pad)
    ax.set_ylim(lo[1] - pad, hi[1] + pad)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def _panel_weights(weights: Any, num_bodies: int, num_joints: int) -> np.ndarray:
    """``[J]``, ``[P, J]`` or ``[P, B, J]`` weights as ``[P, B, J]``."""
    w = _array(weights)
    if w.ndim == 1:
        w = w[None]
    if w.ndim == 2:
        w = np.repeat(w[:, None], num_bodies, axis=1)
    if w.ndim != 3 or w.shape[1:] != (num_bodies, num_joints):
        raise ValueError(f"weights of shape {w.shape} do not match {num_bodies} bodies of {num_joints} joints")
    return w


def _plain_ticks(bar: Any) -> None:
    """Colour-bar ticks as plain numbers (0.98, 1.00, 1.02), not offsets from 1."""
    from matplotlib.ticker import ScalarFormatter

    formatter = ScalarFormatter(useOffset=False)
    bar.ax.yaxis.set_major_formatter(formatter)


def _scores(scores: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    if scores is None:
        return None
    sc = _array(scores)
    if sc.shape != shape:
        raise ValueError(f"scores of shape {sc.shape} do not match the joints {shape}")
    return sc


def joint_weights_figure(layout: Layout, joints: Any, weights: Any, titles: Sequence[str] | None = None,
                         suptitle: str | None = None, *, vmin: float | None = None, vmax: float | None = None,
                         label: str = "weight", up: str | None = None, center: float | None = None,
                         scores: Any = None) -> Any:
    """Skeletons of one frame in the front view with joints sized and coloured by weight.

    Args:
        layout: Skeleton layout (bones, up axis).
        joints: ``[J, D]`` (one body) or ``[B, J, D]`` joint positions of the frame to draw (NaN: not drawn).
        weights: ``[J]`` for one panel, ``[P, J]`` for ``P`` panels (the same weights on every body), or
            ``[P, B, J]`` (per body).
        titles: One title per panel.
        vmin, vmax: Colour range; default :func:`centred_range` about ``center``, or from ``min(0, weights)`` to
            ``max(weights)`` over all panels without one.
        label: Colour-bar label (what the weights are); the range of the weights is added to it.
        up: Override of the layout's up axis, see :func:`front_view`.
        center: Reference value of the weights (uniform attention, a mask's initial value): a diverging scale
            with this value white.
        scores: ``[J]`` or ``[B, J]`` keypoint confidences: joints and bones drawn with that opacity, and a person
            whose mean score is below :data:`LOW_SCORE` dashed and labelled.
    """
    plt = _pyplot()
    xyz = _array(joints)
    if xyz.ndim == 2:
        xyz = xyz[None]
    B, J = xyz.shape[:2]
    w = _panel_weights(weights, B, J)
    sc = _scores(None if scores is None else _array(scores).reshape(-1, J), (B, J))
    lo, hi = _colour_range(w, vmin, vmax, center)
    points = front_view(xyz, layout, up)
    fig, axes = _panel_figure(plt, w.shape[0], points)
    cmap = DIVERGING_CMAP if center is not None else _CMAP
    for p, ax in enumerate(axes):
        _SkeletonArtists(ax, layout, B, lo, hi, cmap).update(points, w[p], sc)
        _frame_limits(ax, points)
        if titles is not None:
            ax.set_title(titles[p], fontsize=9)
    bar = fig.colorbar(axes[0].collections[0], ax=axes, fraction=0.05, pad=0.02,
                       label=colour_bar_label(label, w, center))
    _plain_ticks(bar)
    if suptitle:
        fig.suptitle(_wrap(suptitle, fig), fontsize=10)
    return fig


def plot_joint_weights(layout: Layout, joints: Any, weights: Any, path: str | Path,
                       titles: Sequence[str] | None = None, suptitle: str | None = None, **kwargs: Any) -> Path:
    """Save :func:`joint_weights_figure` to ``path`` (PNG)."""
    return _save(joint_weights_figure(layout, joints, weights, titles, suptitle, **kwargs), path)


class SkeletonAnimation:
    """Skeletons moving over the frames with per-frame joint weights, one panel per set of weights.

    Args:
        layout: Skeleton layout.
        joints: ``[B, J, T, D]`` positions (:func:`skeleton_bodies`); NaN where a body is absent.
        weights: ``[P, B, J, T]`` (or ``[B, J, T]`` for one panel) weights per frame.
        titles, suptitle, vmin, vmax, label, up, center: As :func:`joint_weights_figure` (one colour range for
            every frame).
        scores: ``[B, J, T]`` keypoint confidences, as :func:`joint_weights_figure`'s per frame.

    ``draw(t)`` draws frame ``t`` (and returns the changed artists); ``save(path)`` writes a GIF of every frame.
    """

    def __init__(self, layout: Layout, joints: Any, weights: Any, titles: Sequence[str] | None = None,
                 suptitle: str | None = None, *, vmin: float | None = None, vmax: float | None = None,
                 label: str = "weight", up: str | None = None, center: float | None = None,
                 scores: Any = None) -> None:
        plt = _pyplot()
        xyz = _array(joints)
        w = _array(weights)
        if w.ndim == 3:
            w = w[None]
        if xyz.ndim != 4 or w.shape[1:] != xyz.shape[:3]:
            raise ValueError(f"joints [B, J, T, D] {xyz.shape} and weights [P, B, J, T] {w.shape} do not match")
        self.num_frames = xyz.shape[2]
        self.points = front_view(xyz, layout, up).transpose(2, 0, 1, 3)  # [T, B, J, 2]
        self.weights = w
        self.scores = _scores(scores, xyz.shape[:3])
        self.vmin, self.vmax = _colour_range(w, vmin, vmax, center)
        B = xyz.shape[0]
        self.figure, self.axes = _panel_figure(plt, w.shape[0], self.points)
        cmap = DIVERGING_CMAP if center is not None else _CMAP
        self.artists = [_SkeletonArtists(ax, layout, B, self.vmin, self.vmax, cmap) for ax in self.axes]
        for p, ax in enumerate(self.axes):
            _frame_limits(ax, self.points)
            if titles is not None:
                ax.set_title(titles[p], fontsize=9)
        self.colorbar = self.figure.colorbar(self.artists[0].scatter, ax=self.axes, fraction=0.05, pad=0.02,
                                             label=colour_bar_label(label, w, center))
        _plain_ticks(self.colorbar)
        self._suptitle = suptitle
        self.draw(0)

    def draw(self, t: int) -> list[Any]:
        """Draw frame ``t``."""
        changed = []
        scores = self.scores[..., t] if self.scores is not None else None
        for p, artists in enumerate(self.artists):
            changed += artists.update(self.points[t], self.weights[p, :, :, t], scores)
        head = f"{_wrap(self._suptitle, self.figure)}\n" if self._suptitle else ""
        self.figure.suptitle(f"{head}frame {t + 1} / {self.num_frames}", fontsize=10)
        return changed

    def save(self, path: str | Path, fps: float = 8.0) -> Path:
        """Write every frame to a GIF (matplotlib's Pillow writer) and close the figure."""
        from matplotlib.animation import FuncAnimation, PillowWriter

        plt = _pyplot()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        animation = FuncAnimation(self.figure, self.draw, frames=range(self.num_frames), blit=False)
        animation.save(path, writer=PillowWriter(fps=fps), dpi=80)
        plt.close(self.figure)
        return path


# ---------------------------------------------------------------------------------------------- curves, confusion
def _loss_terms(history: Sequence[dict[str, Any]]) -> list[str]:
    """Names ``t`` of the per-term losses a model reported (``train_loss_t``, ``val_loss_t`` in the history)."""
    names: dict[str, None] = {}
    for h in history:
        for key in h:
            if key.startswith("train_loss_"):
                names[key[len("train_loss_"):]] = None
    return list(names)


def history_title(history: Sequence[dict[str, Any]]) -> str:
    """What :func:`history_figure` draws, in words: which losses, which accuracies, and that a monitored test
    curve selects nothing."""
    has = {key: any(key in h for h in history) for key in ("val_loss", "val_top1", "test_top1")}
    has_val = has["val_loss"] or has["val_top1"] or any(k.startswith("val_loss_") for h in history for k in h)
    if has_val:
        text = "training and validation loss, validation accuracy (selects the epoch)"
        return text + (", test top-1 (monitored, selects nothing)" if has["test_top1"] else "")
    if has["test_top1"]:
        return "training loss and test top-1 (monitored, selects nothing)"
    return "training loss"


def history_figure(history: Sequence[dict[str, Any]], title: str | None = None, *, context: str | None = None) -> Any:
    """Training curves that compare like with like, losses and accuracies in separate panels.

    Top panel, losses: models that report their loss terms (e.g. ARRN-LSTM: each stream's cross-entropy and the
    fused prediction's negative log-likelihood, recorded as ``train_loss_<term>`` / ``val_loss_<term>``) get one
    curve pair per term, training solid and validation dashed in the same colour; the summed training objective is
    not drawn against a validation loss of another quantity. Other models: training against validation loss. A
    logarithmic axis when the losses span more than a factor of 20 (early and late epochs then both read), else a
    linear one fitted to the curves.
    Bottom panel, accuracy: validation top-1 / top-5, and the test top-1 where the run monitored it (it chose
    nothing). Stepwise-training steps are shaded boundaries labelled with their step. ``title``: the figure's
    title (default :func:`history_title`, after ``context``, e.g. the data set, when given).
    """
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    epochs = [h["epoch"] for h in history]
    accuracy_curves = [(key, label, style, colour) for key, label, style, colour in (
        ("val_top1", "validation top-1", "-", "k"), ("val_top5", "validation top-5", ":", "k"),
        ("test_top1", "test top-1 (monitored; selects nothing)", "-", "tab:red")) if any(key in h for h in history)]
    if accuracy_curves:
        fig, (ax, ax_acc) = plt.subplots(2, 1, sharex=True, figsize=(7.5, 6.2), layout="constrained",
                                         height_ratios=(3, 2))
    else:
        fig, ax = plt.subplots(figsize=(7.5, 4.2), layout="constrained")
        ax_acc = None
    terms = _loss_terms(history)
    pairs = [(f"train_loss_{t}", f"val_loss_{t}", t) for t in terms] or [("train_loss", "val_loss", "loss")]
    drawn: list[float] = []
    for k, (train_key, val_key, name) in enumerate(pairs):
        colour = f"C{k}"
        values = [h.get(train_key, np.nan) for h in history]
        ax.plot(epochs, values, color=colour, label=f"{name} (train)")
        drawn += values
        if any(val_key in h for h in history):
            values = [h.get(val_key, np.nan) for h in history]
            ax.plot(epochs, values, color=colour, ls="--", label=f"{name} (validation)")
            drawn += values
    finite = np.asarray([v for v in drawn if np.isfinite(v)])
    if finite.size and finite.min() > 0 and finite.max() / finite.min() > 20:
        ax.set_yscale("log")
    # (a linear axis fits the curves, not zero: curves a few hundredths apart must not merge into one line)
    ax.set_ylabel("loss (negative log-likelihood)")
    ax.legend(fontsize=8, frameon=False, ncol=2)
    ax.grid(alpha=0.3)
    axes = [ax] if ax_acc is None else [ax, ax_acc]
    if ax_acc is not None:
        for key, label, style, colour in accuracy_curves:
            ax_acc.plot(epochs, [h.get(key, np.nan) for h in history], color=colour, ls=style, lw=1.2, label=label)
        ax_acc.set(ylabel="accuracy", ylim=(-0.02, 1.02))  # a curve at 0 or 1 stays off the frame
        ax_acc.legend(fontsize=8, frameon=False, ncol=2)
        ax_acc.grid(alpha=0.3)
    axes[-1].set_xlabel("epoch")
    axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
    steps = [h.get("step") for h in history]
    if any(step is not None for step in steps):
        starts = [i for i in range(len(steps)) if i == 0 or steps[i] != steps[i - 1]]
        for i in starts:
            for a in axes:
                if i:
                    a.axvline(epochs[i] - 0.5, color="grey", lw=0.8, ls=":")
            text = ax.text(epochs[i] - 0.5 if i else epochs[0], 1.0, f" step {steps[i]}",
                           transform=ax.get_xaxis_transform(), ha="left", va="top", fontsize=8, color="dimgrey")
            text.set_gid(f"step {steps[i]}")
    full = title or (f"{context}: " if context else "") + history_title(history)
    ax.set_title(full, fontsize=10)
    return fig


def plot_history(history: Sequence[dict[str, Any]], path: str | Path, title: str | None = None, *,
                 context: str | None = None) -> Path:
    """Save :func:`history_figure` to ``path``."""
    return _save(history_figure(history, title, context=context), path)


def confusion_figure(confusion: torch.Tensor | np.ndarray, class_names: Sequence[str],
                     title: str = "confusion matrix") -> Any:
    """Row-normalised confusion matrix (rows: true class, columns: prediction) with class names and counts."""
    plt = _pyplot()
    cm = np.asarray(confusion, dtype=np.float64)
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    k = len(class_names)
    size = max(5.0, 0.28 * k + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(k), class_names, rotation=90, fontsize=max(4, 10 - k // 12))
    ax.set_yticks(range(k), class_names, fontsize=max(4, 10 - k // 12))
    if k <= 20:
        for i in range(k):
            for j in range(k):
                if cm[i, j]:
                    ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if norm[i, j] > 0.5 else "black")
    ax.set(xlabel="predicted", ylabel="true")
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    fig.tight_layout()
    return fig


def plot_confusion(confusion: torch.Tensor | np.ndarray, class_names: Sequence[str], path: str | Path,
                   title: str = "confusion matrix") -> Path:
    """Save :func:`confusion_figure` to ``path``."""
    return _save(confusion_figure(confusion, class_names, title), path)


def _save(fig: Any, path: str | Path) -> Path:
    plt = _pyplot()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
