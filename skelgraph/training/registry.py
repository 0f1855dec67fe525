"""Rebuild a model, its evaluation pipeline and its data set from what a checkpoint stores.

A recipe stores ``meta = {"model": model_spec(model), "pipeline": pipeline_spec(...), "dataset": {...}}`` in
every checkpoint, so :mod:`skelgraph.predict` can classify new files with nothing but the checkpoint, and
:mod:`skelgraph.noise` can re-evaluate it on its test split.
"""

from __future__ import annotations

import importlib
from typing import Any

from torch import nn
from torch_geometric.transforms import Compose

from skelgraph.skeleton import Layout, get_layout
from skelgraph.transforms import CenterJoints, FixedLength, ScaleCoordinates, StackBodies, ViewNormalize


def _qualname(obj: Any) -> str:
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _import(qualname: str) -> Any:
    module, _, name = qualname.rpartition(".")
    if not module.startswith("skelgraph."):
        raise ValueError(f"refusing to build {qualname!r}: only skelgraph classes can be rebuilt from a checkpoint")
    return getattr(importlib.import_module(module), name)


def model_spec(model: nn.Module, **kwargs: Any) -> dict[str, Any]:
    """How to rebuild ``model``: its class and the keyword arguments it was built with (its ``hparams``, or
    ``kwargs`` when given); a :class:`~skelgraph.skeleton.Layout` is stored by name, tuples as lists."""
    if not kwargs:
        if not hasattr(model, "hparams"):
            raise ValueError(f"{type(model).__name__} has no hparams: pass the keyword arguments it was built with")
        kwargs = model.hparams
    kw = {k: v.name if isinstance(v, Layout) else list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()}
    return {"class": _qualname(model), "kwargs": kw}


def build_model(spec: dict[str, Any]) -> nn.Module:
    """Inverse of :func:`model_spec` (fresh parameters; load the checkpoint's ``model`` state afterwards). Also
    reads the spec of checkpoints written before every model took keyword arguments (an ARRN-LSTM ``config``,
    whose fields are its keyword arguments)."""
    cls = _import(spec["class"])
    kw = dict(spec["kwargs"] if "kwargs" in spec else spec["config"])
    if "layout" in kw:
        kw["layout"] = get_layout(kw["layout"])
    return cls(**kw)


def pipeline_spec(
    layout: str, T: int, view_normalize: bool = False, scale: float = 1.0, stack_bodies: int = 0
) -> dict[str, Any]:
    """The evaluation pre-processing of a recipe: centre on the layout's centre joints, optional view
    normalisation, coordinates multiplied by ``scale``, ``T`` uniformly sampled frames, and with
    ``stack_bodies > 0`` that many bodies side by side in the channels (:class:`~skelgraph.transforms.StackBodies`)."""
    return {"layout": layout, "T": T, "view_normalize": view_normalize, "scale": scale, "stack_bodies": stack_bodies}


def build_transform(spec: dict[str, Any], train: bool = False, extra: list | None = None) -> Compose:
    """The transform of :func:`pipeline_spec`; ``train=True`` samples frames at random (ARRN-LSTM, Section
    4.1), and ``extra`` transforms (augmentation) run after the frame sampling."""
    layout = get_layout(spec["layout"])
    steps: list = [CenterJoints(layout)]
    if spec.get("view_normalize"):
        steps.append(ViewNormalize(layout))
    if spec.get("scale", 1.0) != 1.0:
        steps.append(ScaleCoordinates(spec["scale"]))
    steps.append(FixedLength(spec["T"], "random" if train else "uniform"))
    if spec.get("stack_bodies", 0):
        steps.append(StackBodies(spec["stack_bodies"]))
    return Compose(steps + list(extra or []))


#: Dataset classes by the ``name`` recipes store in ``meta["dataset"]``.
DATASETS: dict[str, str] = {
    "ntu60": "skelgraph.datasets.ntu.NTU60",
    "ntu120": "skelgraph.datasets.ntu.NTU120",
    "msr_action3d": "skelgraph.datasets.msr.MSRAction3D",
    "sbu": "skelgraph.datasets.sbu.SBU",
    "florence_3d": "skelgraph.datasets.florence.Florence3D",
    "utkinect": "skelgraph.datasets.utkinect.UTKinect",
}


def dataset_class(spec: dict[str, Any]) -> Any:
    """The dataset class of a recipe's ``meta["dataset"]`` (``{"name": "sbu", "fold": 0}`` and the like)."""
    name = spec.get("name")
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r} in the checkpoint; known: {sorted(DATASETS)}")
    return _import(DATASETS[name])


def build_dataset(spec: dict[str, Any], root: str | None = None, split: str = "test", **kwargs: Any) -> Any:
    """The ``split`` of the dataset a recipe trained on, from its ``meta["dataset"]``: the stored protocol
    arguments (fold, subset, benchmark, protocol) are passed to the dataset class."""
    protocol = {k: v for k, v in spec.items() if k not in ("name", "full")}
    return dataset_class(spec)(root, split=split, **protocol, **kwargs)
