"""Rebuild a model and its evaluation pipeline from what a checkpoint stores.

A recipe stores ``meta = {"model": model_spec(model), "pipeline": pipeline_spec(...)}`` in every checkpoint,
so :mod:`skelgraph.predict` can classify new files with nothing but the checkpoint.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

from torch import nn
from torch_geometric.transforms import Compose

from skelgraph.skeleton import Layout, get_layout
from skelgraph.transforms import (
    AddVelocity,
    CenterJoints,
    FixedLength,
    GaussianNoise,
    RandomRotation,
    RandomScale,
    RandomSwapBodies,
    ScaleCoordinates,
    StackBodies,
    ViewNormalize,
)


def _qualname(obj: Any) -> str:
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _import(qualname: str) -> Any:
    module, _, name = qualname.rpartition(".")
    if not module.startswith("skelgraph."):
        raise ValueError(f"refusing to build {qualname!r}: only skelgraph classes can be rebuilt from a checkpoint")
    return getattr(importlib.import_module(module), name)


def model_spec(model: nn.Module, **kwargs: Any) -> dict[str, Any]:
    """How to rebuild ``model``: its class plus either its ``config`` dataclass (ARRN-LSTM) or the keyword
    arguments it was built with (``kwargs``; a :class:`~skelgraph.skeleton.Layout` is stored by name)."""
    if kwargs:
        kw = {k: v.name if isinstance(v, Layout) else v for k, v in kwargs.items()}
        return {"class": _qualname(model), "kwargs": kw}
    config = model.config
    return {"class": _qualname(model), "config_class": _qualname(config), "config": dataclasses.asdict(config)}


def build_model(spec: dict[str, Any]) -> nn.Module:
    """Inverse of :func:`model_spec` (fresh parameters; load the checkpoint's ``model`` state afterwards)."""
    cls = _import(spec["class"])
    if "kwargs" in spec:
        kw = dict(spec["kwargs"])
        if "layout" in kw:
            kw["layout"] = get_layout(kw["layout"])
        return cls(**kw)
    config_cls = _import(spec["config_class"])
    types = {f.name: f.type for f in dataclasses.fields(config_cls)}
    config = {k: tuple(v) if isinstance(v, list) and "tuple" in str(types.get(k, "")) else v
              for k, v in spec["config"].items()}
    return cls(config_cls(**config))


def pipeline_spec(
    layout: str, T: int, view_normalize: bool = False, scale: float = 1.0, stack_bodies: int = 0,
    velocity: bool = False, augment: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The pre-processing of a recipe: centre on the layout's centre joints, optional view normalisation,
    coordinates multiplied by ``scale``, ``T`` frames, with ``velocity`` each joint's displacement since the
    previous frame appended (:class:`~skelgraph.transforms.AddVelocity`), and with ``stack_bodies > 0`` that many
    bodies side by side in the channels (:class:`~skelgraph.transforms.StackBodies`).

    ``augment`` (training only): ``swap`` (probability of :class:`~skelgraph.transforms.RandomSwapBodies`),
    ``rotate`` (``(x, y, z)`` degrees of :class:`~skelgraph.transforms.RandomRotation`), ``scale`` (``(low,
    high)`` of :class:`~skelgraph.transforms.RandomScale`), ``noise`` (sigma of
    :class:`~skelgraph.transforms.GaussianNoise` in the scaled units); absent or zero entries are off."""
    return {"layout": layout, "T": T, "view_normalize": view_normalize, "scale": scale, "stack_bodies": stack_bodies,
            "velocity": velocity, "augment": dict(augment or {})}


def pipeline_channels(spec: dict[str, Any], coordinates: int = 3) -> int:
    """Features per node after the pipeline: coordinates, doubled with velocity, times the stacked bodies."""
    return coordinates * (2 if spec.get("velocity") else 1) * max(spec.get("stack_bodies", 0), 1)


def build_transform(spec: dict[str, Any], train: bool = False, extra: list | None = None) -> Compose:
    """The transform of :func:`pipeline_spec`; ``train=True`` samples frames at random (ARRN-LSTM, Section
    4.1), and ``extra`` transforms (augmentation) run after the frame sampling."""
    layout = get_layout(spec["layout"])
    augment = (spec.get("augment") or {}) if train else {}
    steps: list = []
    if augment.get("swap"):
        steps.append(RandomSwapBodies(augment["swap"]))  # before centring: the centre is the first body's
    steps.append(CenterJoints(layout))
    if spec.get("view_normalize"):
        steps.append(ViewNormalize(layout))
    if spec.get("scale", 1.0) != 1.0:
        steps.append(ScaleCoordinates(spec["scale"]))
    steps.append(FixedLength(spec["T"], "random" if train else "uniform"))
    if augment.get("rotate") and any(augment["rotate"]):
        steps.append(RandomRotation(tuple(augment["rotate"])))
    if augment.get("scale"):
        steps.append(RandomScale(tuple(augment["scale"])))
    if augment.get("noise"):
        steps.append(GaussianNoise(augment["noise"]))
    if spec.get("velocity"):
        steps.append(AddVelocity())
    if spec.get("stack_bodies", 0):
        steps.append(StackBodies(spec["stack_bodies"]))
    return Compose(steps + list(extra or []))
