"""PNG plots: training curves, confusion matrix, joint weights (ARRN mask, GCA-LSTM attention) on the skeleton.

Needs matplotlib (``pip install skelgraph[plot]``); it is imported lazily with the Agg backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from skelgraph.skeleton import Layout


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("plots need matplotlib: pip install 'skelgraph[plot]'") from err
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_history(history: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Loss (train, validation) and validation accuracy per epoch."""
    plt = _pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, [h["train_loss"] for h in history], label="train")
    if any("val_loss" in h for h in history):
        ax_loss.plot(epochs, [h.get("val_loss", np.nan) for h in history], label="validation")
        for key, label in (("val_top1", "top-1"), ("val_top5", "top-5")):
            if any(key in h for h in history):
                ax_acc.plot(epochs, [h.get(key, np.nan) for h in history], label=label)
    steps = [h.get("step") for h in history]
    for i in range(1, len(steps)):
        if steps[i] != steps[i - 1]:
            for ax in (ax_loss, ax_acc):
                ax.axvline(epochs[i] - 0.5, color="grey", lw=0.8, ls=":")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="validation accuracy", ylim=(0, 1))
    for ax in (ax_loss, ax_acc):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path, plt)


def plot_confusion(confusion: torch.Tensor | np.ndarray, class_names: Sequence[str], path: str | Path,
                   title: str = "confusion matrix") -> Path:
    """Row-normalised confusion matrix (rows: true class, columns: prediction) with class names."""
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
    ax.set(xlabel="predicted", ylabel="true", title=title)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return _save(fig, path, plt)


def plot_joint_weights(layout: Layout, joints: torch.Tensor | np.ndarray,
                       weights: torch.Tensor | np.ndarray | Sequence[Any], path: str | Path,
                       titles: Sequence[str] | None = None, suptitle: str | None = None) -> Path:
    """Draw a skeleton (front view, x right / y up) with joints sized and coloured by weight.

    Args:
        layout: Skeleton layout (bones).
        joints: ``[J, 3]`` joint positions of the frame to draw.
        weights: ``[J]`` for one panel or ``[P, J]`` for ``P`` panels (e.g. one per attention iteration).
        titles: One title per panel.
    """
    plt = _pyplot()
    xyz = np.asarray(joints, dtype=np.float64)
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    panels = w.shape[0]
    fig, axes = plt.subplots(1, panels, figsize=(2.4 * panels + 1.2, 4.2), squeeze=False)
    lo, hi = float(np.nanmin(w)), float(np.nanmax(w))
    scale = (w - lo) / (hi - lo) if hi > lo else np.full_like(w, 0.5)
    for p, ax in enumerate(axes[0]):
        for a, b in layout.bones:
            i, j = layout.index(a), layout.index(b)
            ax.plot(xyz[[i, j], 0], xyz[[i, j], 1], color="0.6", lw=1.5, zorder=1)
        sc = ax.scatter(xyz[:, 0], xyz[:, 1], s=20 + 280 * scale[p], c=w[p], cmap="magma_r", vmin=lo, vmax=hi,
                        edgecolors="k", linewidths=0.5, zorder=2)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[p], fontsize=9)
    fig.colorbar(sc, ax=list(axes[0]), fraction=0.03, pad=0.02, label="weight")
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    return _save(fig, path, plt)


def _save(fig: Any, path: str | Path, plt: Any) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
