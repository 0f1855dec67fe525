"""Pre-processing, validation splits and model selection on training data only: the recipe pipeline, the
stratified validation split (:func:`prepare_splits`) and inner cross-validation (:func:`inner_cv`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from skelgraph.recipes.config import ConfigError
from skelgraph.recipes.models import STACKED_BODIES
from skelgraph.recipes.sections import Protocol
from skelgraph.training.experiment import coordinate_scale, dataset_labels, stratified_split, stream_scores, subset
from skelgraph.training.registry import build_transform, centring, pipeline_spec
from skelgraph.training.seeding import seed_everything


@dataclass
class RecipeSplits:
    """What :func:`prepare_splits` returns: the pipeline spec stored in checkpoints, the training subset (with
    the training transform) and the validation subset (evaluation transform; ``None`` without one)."""

    pipeline: dict[str, Any]
    train: Any
    val: Any | None


def recipe_pipeline(train: Any, *, T: int, protocol: Protocol, stacked: bool = False,
                    score: bool = False) -> dict[str, Any]:
    """The pipeline spec: centre (``protocol.center``, on ``protocol.center_joints`` when given), scale to unit
    variance (``1 / std`` of ``train``'s centred coordinates; ``protocol.scale=False``: the recorded units), ``T``
    frames, two bodies side by side per joint (``stacked``), velocity, the confidence score as a channel
    (``score``) and the training augmentation of ``protocol``."""
    layout = train.layout
    if protocol.center_joints:  # the layout, stored whole in the spec, carries the centre for inference too
        try:
            layout = dataclasses.replace(layout, center=tuple(protocol.center_joints))
        except ValueError as err:
            raise ConfigError(f"--center-joints: {err}; the layout's joints are {' '.join(layout.joints)}") from None
    augment = {"swap": protocol.swap, "rotate": (0.0, protocol.rotate, 0.0),
               "scale": list(protocol.random_scale) if protocol.random_scale is not None else None,
               "noise": protocol.noise}
    scale = coordinate_scale(train, layout, **centring(protocol.center)) if protocol.scale else 1.0
    return pipeline_spec(layout, T, scale=scale,
                         stack_bodies=STACKED_BODIES if stacked else 0, velocity=protocol.velocity, augment=augment,
                         sampling=protocol.frame_sampling, center=protocol.center, score=score,
                         uncross_legs=protocol.uncross_legs, smooth=protocol.smooth_time)


def prepare_splits(train_full: Any, test: Any, pipeline: Callable[[Any], dict[str, Any]], *, protocol: Protocol,
                   seed: int) -> RecipeSplits:
    """Set the pipeline ``pipeline(train_full)`` on both splits and, with ``protocol.selection == "val-split"``,
    carve a stratified validation subset of ``protocol.val_fraction`` of every class from the training split
    (``seed`` picks it). The test split chooses nothing."""
    spec = pipeline(train_full)
    train_full.transform = build_transform(spec, train=True)
    test.transform = build_transform(spec)
    fraction = protocol.val_fraction if protocol.selection == "val-split" else 0.0
    tr, va = stratified_split(dataset_labels(train_full), fraction, seed)
    val = subset(train_full, va, build_transform(spec)) if va else None
    return RecipeSplits(spec, subset(train_full, tr), val)


class _StreamLogits:
    """Trainer callback: the ARRN per-stream validation logits of every epoch (for alpha after inner CV)."""

    def __init__(self, val: Any) -> None:
        self.val, self.epochs = val, []

    def __call__(self, trainer: Any, record: dict[str, Any]) -> None:
        self.epochs.append(stream_scores(trainer, self.val))


def inner_cv(train_full: Any, build: Callable[[dict[str, Any]], Any], pipeline: Callable[[Any], dict[str, Any]],
             config: Any, *, protocol: Protocol, seed: int, two_streams: bool = False) -> dict[str, Any]:
    """Choose the epoch budget (and, ``two_streams``, ARRN's alpha) on the training split alone.

    Every value of the ``protocol.cv_groups`` attribute (dealt into ``protocol.cv_folds`` inner folds when given)
    is held out once: a model built by ``build(pipeline(inner_train))`` is trained with ``config`` (a
    :class:`~skelgraph.training.TrainConfig`; no files written) on the other groups (pipeline scale from those
    groups only) and validated after every epoch. The epoch budget is where the validation accuracy, averaged over
    the groups (weighted by their sizes) and smoothed over ``protocol.smooth`` epochs, peaks; alpha is chosen on
    the pooled validation scores of that epoch. Returns the choice with every curve.
    """
    from skelgraph.nn.arrn import select_alpha
    from skelgraph.training.engine import Trainer
    from skelgraph.training.selection import choose_epoch, dataset_attribute, group_splits

    groups_name = protocol.cv_groups
    if not groups_name:
        raise ValueError("--selection inner-cv needs --cv-groups (a sample attribute such as subject or fold)")
    groups = dataset_attribute(train_full, groups_name)
    curves, sizes, logits, held_out = [], [], [], []
    for group, tr, va in group_splits(groups, protocol.cv_folds):
        seed_everything(seed)
        inner_train = subset(train_full, tr)
        spec = pipeline(inner_train)
        inner_train.transform = build_transform(spec, train=True)
        inner_val = subset(train_full, va, build_transform(spec))
        model = build(spec)
        collect = _StreamLogits(inner_val) if two_streams else None
        trainer = Trainer(model, inner_train, inner_val, config, class_names=list(train_full.class_names),
                          callbacks=[collect] if collect else ())
        trainer.fit()
        curve = [h["val_top1"] for h in trainer.state.history]
        shown = ",".join(map(str, group))
        print(f"inner fold {groups_name}={shown}: {len(tr)} train / {len(va)} val, best val top-1 "
              f"{max(curve):.2%} at epoch {curve.index(max(curve)) + 1}, last {curve[-1]:.2%}")
        curves.append(curve)
        sizes.append(len(va))
        held_out.append(list(group))
        if collect:
            logits.append(collect.epochs)
    # A cosine schedule spans --epochs: its epoch e is not a run of e epochs, so the budget stays --epochs.
    choice = choose_epoch(curves, sizes, protocol.smooth, last=config.schedule == "cosine")
    out = {"method": "inner-cv", "groups": groups_name, "held_out": held_out, "sizes": sizes,
           "epoch": choice["epoch"], "value": choice["value"], "curves": curves, "mean_curve": choice["mean_curve"]}
    if two_streams:
        import torch

        at = [g[choice["epoch"] - 1] for g in logits]
        out["alpha"] = select_alpha(torch.cat([a[0] for a in at]), torch.cat([a[1] for a in at]),
                                    torch.cat([a[2] for a in at]))
    print(f"inner cross-validation over {len(curves)} {groups_name} groups: epoch budget {out['epoch']} "
          f"(smoothed mean validation top-1 {choice['value']:.2%})"
          + (f", alpha {out['alpha']:.2f}" if "alpha" in out else ""))
    return out
