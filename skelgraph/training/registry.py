"""Rebuild a model, its evaluation pipeline and its data set from what a checkpoint stores.

A recipe stores ``meta = {"model": model_spec(model), "pipeline": pipeline_spec(...), "dataset": {...}}`` in
every checkpoint, so :mod:`skelgraph.predict` can classify new files with nothing but the checkpoint, and
:mod:`skelgraph.noise` can re-evaluate it on its test split.

Layouts are stored whole, as plain data (:meth:`~skelgraph.skeleton.Layout.to_dict`), so a checkpoint of a model
trained on any layout (a pose estimator's, or one of your own) is rebuilt without that layout being registered;
specs of older checkpoints, which name a built-in layout, still load.

A spec names its class by qualified name, and only names on an explicit allow-list can be built
(:data:`MODEL_CLASSES`, :data:`CONFIG_CLASSES`; add your own with :func:`register_model`): a checkpoint cannot
make :func:`build_model` call any other function or class, of skelgraph or elsewhere.
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
    AppendScore,
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


#: Model classes a checkpoint's spec may name (qualified name -> module, attribute); imported only when used.
MODEL_CLASSES: dict[str, tuple[str, str]] = {
    f"{module}.{name}": (module, name)
    for module, name in [("skelgraph.nn.arrn", "ARRNLSTM"), ("skelgraph.nn.gca_lstm", "GCALSTM"),
                         ("skelgraph.nn.gca_lstm", "TwoStreamGCALSTM"), ("skelgraph.nn.gca_lstm", "STLSTMClassifier")]
}
#: Configuration dataclasses a spec may name (``config_class``).
CONFIG_CLASSES: dict[str, tuple[str, str]] = {"skelgraph.nn.arrn.ARRNConfig": ("skelgraph.nn.arrn", "ARRNConfig")}
_REGISTERED: dict[str, type] = {}


def register_model(cls: type, config_class: type | None = None) -> type:
    """Allow checkpoints to name ``cls`` (your own model class; usable as a class decorator) and, for models
    built from a configuration dataclass, ``config_class``."""
    if not isinstance(cls, type) or not issubclass(cls, nn.Module):
        raise TypeError(f"register_model expects an nn.Module subclass, got {cls!r}")
    _REGISTERED[_qualname(cls)] = cls
    if config_class is not None:
        if not dataclasses.is_dataclass(config_class):
            raise TypeError(f"config_class must be a dataclass, got {config_class!r}")
        _REGISTERED[_qualname(config_class)] = config_class
    return cls


def _resolve(qualname: Any, allowed: dict[str, tuple[str, str]], what: str) -> Any:
    """The class a spec names, if it is on the allow-list; never imports anything else."""
    if isinstance(qualname, str) and qualname in _REGISTERED:
        return _REGISTERED[qualname]
    if not isinstance(qualname, str) or qualname not in allowed:
        known = sorted(allowed) + sorted(_REGISTERED)
        raise ValueError(f"refusing to build {qualname!r}: not a registered {what} ({', '.join(known)}; "
                         "add yours with skelgraph.training.registry.register_model)")
    module, name = allowed[qualname]
    return getattr(importlib.import_module(module), name)


def model_spec(model: nn.Module, **kwargs: Any) -> dict[str, Any]:
    """How to rebuild ``model``: its class and the keyword arguments it was built with (its ``hparams``, or
    ``kwargs`` when given); a :class:`~skelgraph.skeleton.Layout` is stored whole as plain data
    (:meth:`~skelgraph.skeleton.Layout.to_dict`), tuples as lists.

    Raises:
        ValueError: the class is not on the allow-list (so :func:`build_model` could not rebuild it), or the
            model has no ``hparams`` and no ``kwargs`` are given.
    """
    _resolve(_qualname(model), MODEL_CLASSES, "model class")
    if not kwargs:
        if not hasattr(model, "hparams"):
            raise ValueError(f"{type(model).__name__} has no hparams: pass the keyword arguments it was built with")
        kwargs = model.hparams
    kw = {k: v.to_dict() if isinstance(v, Layout) else list(v) if isinstance(v, tuple) else v
          for k, v in kwargs.items()}
    return {"class": _qualname(model), "kwargs": kw}


def build_model(spec: dict[str, Any]) -> nn.Module:
    """Inverse of :func:`model_spec` (fresh parameters; load the checkpoint's ``model`` state afterwards). Also
    reads the spec of checkpoints written before every model took keyword arguments (an ARRN-LSTM ``config``,
    whose fields are its keyword arguments). Only allow-listed classes are built."""
    cls = _resolve(spec["class"], MODEL_CLASSES, "model class")
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ValueError(f"refusing to build {spec['class']!r}: not a model class")
    if "config_class" in spec:  # an old ARRN-LSTM spec: its config class must be allowed as well
        _resolve(spec["config_class"], CONFIG_CLASSES, "model configuration class")
    kw = dict(spec["kwargs"] if "kwargs" in spec else spec["config"])
    if "layout" in kw:
        kw["layout"] = get_layout(kw["layout"])
    return cls(**kw)


#: How :func:`pipeline_spec` centres the joints: on each frame's centre, or on the first frame's for the sequence.
CENTERS = ("frame", "sequence")


def pipeline_spec(
    layout: str | Layout, T: int, view_normalize: bool = False, scale: float = 1.0, stack_bodies: int = 0,
    velocity: bool = False, augment: dict[str, Any] | None = None, score: bool = False, sampling: str = "random",
    center: str = "frame",
) -> dict[str, Any]:
    """The pre-processing of a recipe: centre on the layout's centre joints (score-weighted where the data has
    confidences; ``center="frame"``: every frame on its own centre, ``"sequence"``: every frame on the first
    frame's, which keeps the body's movement through space), optional view normalisation, coordinates multiplied
    by ``scale``, ``T`` frames, with ``velocity`` each joint's displacement since the previous frame appended
    (:class:`~skelgraph.transforms.AddVelocity`), with ``score`` each joint's confidence appended
    (:class:`~skelgraph.transforms.AppendScore`), and with ``stack_bodies > 0`` that many bodies side by side in
    the channels (:class:`~skelgraph.transforms.StackBodies`). ``layout`` (a registered name or a layout) is
    stored whole (:meth:`~skelgraph.skeleton.Layout.to_dict`).

    ``augment`` (training only): ``swap`` (probability of :class:`~skelgraph.transforms.RandomSwapBodies`),
    ``rotate`` (``(x, y, z)`` degrees of :class:`~skelgraph.transforms.RandomRotation`; 2-D layouts turn in the
    image plane by the largest of them), ``scale`` (``(low, high)`` of :class:`~skelgraph.transforms.RandomScale`),
    ``noise`` (sigma of :class:`~skelgraph.transforms.GaussianNoise` in the scaled units); absent or zero entries
    are off. ``sampling``: how training draws its ``T`` frames (:class:`~skelgraph.transforms.FixedLength`
    ``"random"`` or ``"segment"``); evaluation always takes evenly spaced frames."""
    spec = {"layout": get_layout(layout).to_dict(), "T": T, "view_normalize": view_normalize, "scale": scale,
            "stack_bodies": stack_bodies, "velocity": velocity, "augment": dict(augment or {})}
    if score:  # only when on: specs of earlier checkpoints and runs stay as they were
        spec["score"] = True
    if sampling != "random":
        spec["sampling"] = sampling
    if center not in CENTERS:
        raise ValueError(f"center must be one of {CENTERS}, got {center!r}")
    if center != "frame":  # only then: specs of earlier checkpoints and runs stay as they were
        spec["center"] = center
    return spec


def pipeline_layout(spec: dict[str, Any]) -> Layout:
    """The layout of a pipeline spec (stored whole, or by name in older checkpoints)."""
    return get_layout(spec["layout"])


def pipeline_channels(spec: dict[str, Any], coordinates: int | None = None) -> int:
    """Features per node after the pipeline: the layout's coordinates (``coordinates`` overrides), doubled with
    velocity, one more with the score, times the stacked bodies."""
    C = coordinates if coordinates is not None else pipeline_layout(spec).ndim
    per_body = C * (2 if spec.get("velocity") else 1) + (1 if spec.get("score") else 0)
    return per_body * max(spec.get("stack_bodies", 0), 1)


def build_transform(spec: dict[str, Any], train: bool = False, extra: list | None = None,
                    resample: bool = True) -> Compose:
    """The transform of :func:`pipeline_spec`; ``train=True`` samples frames at random (ARRN-LSTM, Section
    4.1), and ``extra`` transforms (augmentation) run after the frame sampling. ``resample=False`` leaves out
    :class:`~skelgraph.transforms.FixedLength` (every frame kept: what online prediction runs frame by frame)."""
    layout = pipeline_layout(spec)
    augment = (spec.get("augment") or {}) if train else {}
    steps: list = []
    if augment.get("swap"):
        steps.append(RandomSwapBodies(augment["swap"]))  # before centring: the centre is the first body's
    center = spec.get("center", "frame")
    if center not in CENTERS:  # a checkpoint's spec is data from a file: refuse what no pipeline_spec writes
        raise ValueError(f"pipeline spec: center must be one of {CENTERS}, got {center!r}")
    steps.append(CenterJoints(layout, per_frame=center == "frame"))
    if spec.get("view_normalize"):
        steps.append(ViewNormalize(layout))
    if spec.get("scale", 1.0) != 1.0:
        steps.append(ScaleCoordinates(spec["scale"]))
    if resample:
        steps.append(FixedLength(spec["T"], spec.get("sampling", "random") if train else "uniform"))
    if augment.get("rotate") and any(augment["rotate"]):
        rotate = tuple(augment["rotate"])
        # A 2-D layout has one rotation, in the image plane (about z): the recipes' vertical-axis bound drives it.
        steps.append(RandomRotation(rotate if layout.ndim == 3 else (0.0, 0.0, max(abs(r) for r in rotate))))
    if augment.get("scale"):
        steps.append(RandomScale(tuple(augment["scale"])))
    if augment.get("noise"):
        steps.append(GaussianNoise(augment["noise"]))
    if spec.get("velocity"):
        steps.append(AddVelocity())
    if spec.get("score"):
        steps.append(AppendScore())
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
    # Users' data (python -m skelgraph.train): the path and split names are in the spec.
    "folder": "skelgraph.datasets.folder.SkeletonFolder",
    "pyskl": "skelgraph.datasets.files.PYSKLDataset",
    "ctrgcn": "skelgraph.datasets.files.CTRGCNDataset",
}


def dataset_class(spec: dict[str, Any]) -> Any:
    """The dataset class of a recipe's ``meta["dataset"]`` (``{"name": "sbu", "fold": 0}`` and the like)."""
    name = spec.get("name")
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r} in the checkpoint; known: {sorted(DATASETS)}")
    module, _, attribute = DATASETS[name].rpartition(".")  # a fixed table: nothing else can be imported
    return getattr(importlib.import_module(module), attribute)


def build_dataset(spec: dict[str, Any], root: str | None = None, split: str = "test",
                  layout: str | Layout | dict | None = None, **kwargs: Any) -> Any:
    """The ``split`` of the dataset a recipe trained on, from its ``meta["dataset"]``: the stored protocol
    arguments (fold, subset, benchmark, protocol) are passed to the dataset class. Users' data (a folder, a PYSKL
    or CTR-GCN file, stored with its path and split names) also needs the ``layout`` (the pipeline's); ``split``
    ``"train"`` / ``"test"`` then mean the run's training and test splits, and ``root`` replaces the path."""
    cls = dataset_class(spec)
    if hasattr(cls, "from_spec"):
        if layout is None:
            raise ValueError(f"the {spec.get('name')} data of this checkpoint needs its layout to be read")
        return cls.from_spec(spec, root, split, get_layout(layout), **kwargs)
    return cls(root, split=split, **cls.protocol_arguments(spec), **kwargs)
