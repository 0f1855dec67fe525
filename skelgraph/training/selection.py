"""Honest model selection: choices made on the training split only, by inner cross-validation over groups.

The small skeleton benchmarks (SBU: about 230 training sequences, MSR Action3D: about 280 per subset) make a
10 % validation split a lottery: picking the best of 100 epochs on 13-24 samples mostly picks noise. Inner
cross-validation instead holds out one *group* of the training split at a time (an SBU fold, an MSR subject),
averages the validation accuracy curves over the groups, and fixes the epoch budget (and ARRN's fusion weight)
where the mean curve peaks; the model is then trained on the whole training split for that many epochs and the
last epoch is tested. The test split chooses nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import Dataset


def dataset_attribute(dataset: Dataset, key: str) -> list[int]:
    """Per-sample integer attribute ``key`` (``"subject"``, ``"fold"``, ...) of a dataset, in dataset order,
    read without applying its transform.

    Raises:
        KeyError: the samples have no such attribute (the message lists what they have).
    """
    store = getattr(dataset, "_data", None)
    indices = list(dataset.indices()) if hasattr(dataset, "indices") else list(range(len(dataset)))
    if not indices:
        return []
    values = getattr(store, key, None) if store is not None else None
    if isinstance(values, torch.Tensor) and values.dim() == 1 and max(indices) < values.numel():
        return values[torch.as_tensor(indices, dtype=torch.long)].tolist()
    first = dataset.get(indices[0]) if hasattr(dataset, "get") else dataset[0]
    if key not in first:
        raise KeyError(f"the samples have no attribute {key!r}; they have {sorted(first.keys())}")
    return [int((dataset.get(i) if hasattr(dataset, "get") else dataset[i])[key]) for i in indices]


def group_splits(groups: Sequence[int], folds: int | None = None) -> list[tuple[tuple[int, ...], list[int], list[int]]]:
    """``[(held-out groups, train positions, validation positions), ...]``.

    By default every group is held out once, in sorted order; ``folds=k`` deals the sorted groups round-robin into
    ``k`` inner folds (``k`` runs instead of one per group: e.g. MSR Action3D's five training subjects in two
    folds, ``(1, 5, 9)`` and ``(3, 7)``).

    Raises:
        ValueError: fewer than two groups or folds (nothing to hold out).
    """
    values = sorted(set(groups))
    k = len(values) if folds is None else folds
    if len(values) < 2 or not 2 <= k <= len(values):
        raise ValueError(f"inner cross-validation needs at least two groups and 2..{len(values)} folds; got groups "
                         f"{values} and {k} folds")
    held = [tuple(values[i::k]) for i in range(k)]
    return [(h, [i for i, v in enumerate(groups) if v not in h], [i for i, v in enumerate(groups) if v in h])
            for h in held]


def mean_curve(curves: Sequence[Sequence[float]], weights: Sequence[float] | None = None) -> list[float]:
    """Epoch-wise weighted mean of equally long curves (weights: e.g. each group's validation size)."""
    lengths = {len(c) for c in curves}
    if len(lengths) != 1 or not curves:
        raise ValueError(f"curves must be non-empty and equally long, got lengths {sorted(lengths)}")
    w = torch.tensor(weights if weights is not None else [1.0] * len(curves), dtype=torch.float64)
    t = torch.tensor([list(c) for c in curves], dtype=torch.float64)
    return ((t * w[:, None]).sum(0) / w.sum()).tolist()


def smooth(curve: Sequence[float], window: int) -> list[float]:
    """Centred moving average over ``window`` epochs (truncated at the ends)."""
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    half = window // 2
    return [sum(curve[max(0, i - half) : i + half + 1]) / len(curve[max(0, i - half) : i + half + 1])
            for i in range(len(curve))]


def choose_epoch(curves: Sequence[Sequence[float]], weights: Sequence[float] | None = None,
                 window: int = 5, last: bool = False) -> dict[str, Any]:
    """The epoch budget where the (weighted, smoothed) mean validation curve peaks; the earliest epoch of a tie.
    ``last=True`` keeps the last epoch instead, for schedules that depend on the budget (a cosine schedule's
    epoch ``e`` of a longer run is not a run of ``e`` epochs).

    Returns ``{"epoch": 1-based epoch, "mean_curve": [...], "smoothed": [...], "value": smoothed peak}``.
    """
    mean = mean_curve(curves, weights)
    smoothed = smooth(mean, window)
    best = len(smoothed) - 1 if last else max(range(len(smoothed)), key=lambda i: (smoothed[i], -i))
    return {"epoch": best + 1, "mean_curve": mean, "smoothed": smoothed, "value": smoothed[best]}
