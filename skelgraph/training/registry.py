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

A spec is data from a file, so it is checked before anything is built: every field against its declared range
(:data:`MODEL_FIELDS`, :func:`check_pipeline_spec`), then the model's parameter count (counted on PyTorch's
``meta`` device, where nothing is allocated) and its activations for one sample (:func:`activation_bytes`)
against :class:`SpecLimits`. A refusal is one ``ValueError`` line naming the field. Raise the limits for a model
of your own that is larger (``skelgraph.training.registry.SPEC_LIMITS = SpecLimits(...)``).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import math
from typing import Any

import torch
from torch import nn
from torch_geometric.transforms import BaseTransform, Compose

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
    SmoothTime,
    StackBodies,
    UncrossLegs,
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


@dataclasses.dataclass(frozen=True)
class SpecLimits:
    """Largest model a checkpoint's spec may ask for (see the module docstring).

    Attributes:
        parameters: Parameters of the model (the paper-size two-stream ARRN-LSTM has about 14 million).
        activation_bytes: Estimated float32 activations of one sample's forward pass (:func:`activation_bytes`).
        classes: Classes of the classifier.
    """

    parameters: int = 200_000_000
    activation_bytes: int = 8 * 2**30
    classes: int = 100_000


#: The limits :func:`build_model` and :func:`check_pipeline_spec` apply; replace to allow larger models.
SPEC_LIMITS = SpecLimits()

#: Declared range of every numeric field a model spec may hold: ``(kind, low, high)`` with ``kind`` ``int`` or
#: ``float`` (finite), ``high`` exclusive for floats marked ``"<"``; ``"sizes"`` is a non-empty list of ints;
#: ``"pairs"`` a non-empty list of at most ``declared[3]`` pairs of ints (or None).
MODEL_FIELDS: dict[str, tuple[Any, ...]] = {
    "num_joints": (int, 1, 1024), "num_classes": (int, 1, None), "in_channels": (int, 1, 4096),
    "T": (int, 1, 100_000), "M": (int, 1, 8192), "E": (int, 1, 64), "att_channels": (int, 1, 8192),
    "lstm_sizes": ("sizes", 1, 8192, 16), "message_layers": (int, 1, 64), "dropout": (float, 0.0, 1.0, "<"),
    "alpha": (float, 0.0, 1.0), "num_frames": (int, 1, 100_000), "num_iterations": (int, 1, 64),
    "attention_channels": (int, 1, 8192), "hidden_channels": (int, 1, 8192), "forget_bias": (float, -100.0, 100.0),
    "line_channels": (int, 1, 4096), "message_channels": (int, 1, 8192), "edges": ("pairs", 0, 1023, 65_536),
}
#: Most joints a layout stored in a spec may have (the largest built-in, MediaPipe's pose, has 33).
MAX_JOINTS = 1024


def _check_field(name: str, value: Any, where: str = "model spec") -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is within its declared range."""
    declared = MODEL_FIELDS.get(name)
    if declared is None:  # flags and choices: the constructor checks the choice itself
        names = value if isinstance(value, list) and len(value) <= 16 else [value]
        if not all(v is None or isinstance(v, bool) or isinstance(v, str) and len(v) <= 64 for v in names):
            raise ValueError(f"{where}: {name} must be a flag, a short name or a list of names, got {_shown(value)}")
        return
    kind, low, high = declared[:3]
    if kind == "pairs":
        if value is not None and (not isinstance(value, (list, tuple)) or not 1 <= len(value) <= declared[3]
                                  or not all(isinstance(e, (list, tuple)) and len(e) == 2
                                             and all(type(j) is int and low <= j <= high for j in e) for e in value)):
            raise ValueError(f"{where}: {name} must be None or 1 to {declared[3]} pairs of integers in {low}..{high}, "
                             f"got {_shown(value)}")
        return
    if kind == "sizes":
        if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= declared[3] \
                or not all(type(v) is int and low <= v <= high for v in value):
            raise ValueError(f"{where}: {name} must be 1 to {declared[3]} integers in {low}..{high}, got "
                             f"{_shown(value)}")
        return
    if value is None and name in ("num_frames", "attention_channels", "line_channels", "message_channels"):
        return
    if kind is int:
        high = high if high is not None else SPEC_LIMITS.classes
        if type(value) is not int or not low <= value <= high:
            raise ValueError(f"{where}: {name} must be an integer in {low}..{high}, got {_shown(value)}")
        return
    exclusive = len(declared) > 3
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not low <= value <= high or (exclusive and value >= high):
        interval = f"[{low:g}, {high:g}{')' if exclusive else ']'}"
        raise ValueError(f"{where}: {name} must be a finite number in {interval}, got {_shown(value)}")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _model_kwargs(spec: Any) -> tuple[type, dict[str, Any]]:
    """The class and keyword arguments of a model spec, every field checked (see the module docstring)."""
    if not isinstance(spec, dict) or "class" not in spec:
        raise ValueError(f"model spec: a dict with 'class' and 'kwargs', got {_shown(spec)}")
    cls = _resolve(spec["class"], MODEL_CLASSES, "model class")
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ValueError(f"refusing to build {spec['class']!r}: not a model class")
    if "config_class" in spec:  # an old ARRN-LSTM spec: its config class must be allowed as well
        _resolve(spec["config_class"], CONFIG_CLASSES, "model configuration class")
    kwargs = spec.get("kwargs", spec.get("config"))
    if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
        raise ValueError(f"model spec: kwargs must be a dict of named fields, got {_shown(kwargs)}")
    kw = dict(kwargs)
    parameters = inspect.signature(cls).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        unknown = sorted(set(kw) - set(parameters))
        if unknown:
            raise ValueError(f"model spec: {cls.__name__} takes no field {unknown[0]!r}")
    if cls in _REGISTERED.values():  # a user's own model: its constructor checks its own fields
        return cls, kw
    for name, value in kw.items():
        if name != "layout":
            _check_field(name, value)
    if "layout" in kw:
        kw["layout"] = get_layout(kw["layout"])
        if kw["layout"].num_joints > MAX_JOINTS:
            raise ValueError(f"model spec: a layout of {kw['layout'].num_joints} joints, more than {MAX_JOINTS}")
    return cls, kw


def activation_bytes(model: nn.Module, kw: dict[str, Any], frames: int | None = None) -> int:
    """A generous estimate of the float32 activations of one sample's forward pass: per frame and node (joint or
    line node), the widest layer times the number of layers, plus ARRN-LSTM's line features (``in_channels`` per
    other joint and node) and its pairwise RRN messages (``nodes^2`` times the wider of ``M`` and the message
    width, per frame and iteration; computed in chunks, so this bounds them from above)."""
    T = frames or kw.get("T") or kw.get("num_frames") or 1
    layout = kw.get("layout")
    nodes = kw.get("num_joints") or (layout.num_joints if layout is not None else 1)
    widths = [kw.get(k) or 0 for k in ("M", "att_channels", "hidden_channels", "attention_channels", "in_channels",
                                       "message_channels")]
    widths += list(kw.get("lstm_sizes") or [])
    layers = len(list(model.modules()))
    message = max(kw.get("M") or 0, kw.get("message_channels") or 0)
    lines = nodes * nodes * (kw.get("in_channels") or 0) if kw.get("M") else 0  # ARRN-LSTM's line stream
    per_frame = nodes * max(widths) * layers + lines + nodes * nodes * message * (kw.get("E") or 0)
    return 4 * T * per_frame


def build_model(spec: dict[str, Any], frames: int | None = None) -> nn.Module:
    """Inverse of :func:`model_spec` (fresh parameters; load the checkpoint's ``model`` state afterwards). Also
    reads the spec of checkpoints written before every model took keyword arguments (an ARRN-LSTM ``config``,
    whose fields are its keyword arguments). Only allow-listed classes are built, and only after every field is
    checked against its declared range and the model's size (parameters; activations of one sample of
    ``frames`` frames, default its ``T``) against :data:`SPEC_LIMITS`, on the ``meta`` device (nothing allocated).

    Raises:
        ValueError: one line naming the refused field or limit.
    """
    cls, kw = _model_kwargs(spec)
    # A fresh copy of the layout: its cached tensors (part_index, ...) are computed on first use, and one
    # computed under the meta device must not stay in the shared layout the real model then uses.
    sizing = dict(kw, layout=Layout.from_dict(kw["layout"].to_dict())) if "layout" in kw else kw
    try:
        with torch.device("meta"):
            sized = cls(**sizing)
    except Exception as err:  # the spec is data from a file: whatever its constructor raises is a refusal
        raise ValueError(f"model spec: {cls.__name__} cannot be built from it "
                         f"({' '.join(str(err).split())[:160]})") from None
    parameters = sum(p.numel() for p in sized.parameters())
    if parameters > SPEC_LIMITS.parameters:
        raise ValueError(f"model spec: {cls.__name__} would have {parameters:,} parameters, above the limit of "
                         f"{SPEC_LIMITS.parameters:,} (skelgraph.training.registry.SPEC_LIMITS)")
    activations = activation_bytes(sized, kw, frames)
    if activations > SPEC_LIMITS.activation_bytes:
        raise ValueError(f"model spec: {cls.__name__} would need about {activations / 2**30:.1f} GiB of activations "
                         f"per sample, above the limit of {SPEC_LIMITS.activation_bytes / 2**30:.1f} GiB "
                         "(skelgraph.training.registry.SPEC_LIMITS)")
    del sized
    return cls(**kw)


#: How :func:`pipeline_spec` centres the joints: on each frame's centre, or on the first frame's for the sequence.
CENTERS = ("frame", "sequence", "mean")


def centring(center: str) -> dict[str, Any]:
    """The :class:`~skelgraph.transforms.CenterJoints` arguments (``per_frame``, ``over``) of a pipeline's
    ``center`` (one of :data:`CENTERS`); :func:`~skelgraph.training.experiment.coordinate_scale` takes the same."""
    return {"per_frame": center == "frame", "over": "mean" if center == "mean" else "first"}


def pipeline_spec(
    layout: str | Layout, T: int, view_normalize: bool = False, scale: float = 1.0, stack_bodies: int = 0,
    velocity: bool = False, augment: dict[str, Any] | None = None, score: bool = False, sampling: str = "random",
    center: str = "frame", uncross_legs: bool = False, smooth: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The pre-processing of a recipe: centre on the layout's centre joints (score-weighted where the data has
    confidences; ``center="frame"``: every frame on its own centre, ``"sequence"``: every frame on the first
    frame's, which keeps the body's movement through space, ``"mean"``: on the mean of the frames' centres),
    optional view normalisation, coordinates multiplied by ``scale``, ``T`` frames, with ``velocity`` each joint's
    displacement since the previous frame appended (:class:`~skelgraph.transforms.AddVelocity`), with ``score``
    each joint's confidence appended (:class:`~skelgraph.transforms.AppendScore`), and with ``stack_bodies > 0``
    that many bodies side by side in the channels (:class:`~skelgraph.transforms.StackBodies`). ``layout`` (a
    registered name or a layout) is stored whole (:meth:`~skelgraph.skeleton.Layout.to_dict`).

    ``augment`` (training only): ``swap`` (probability of :class:`~skelgraph.transforms.RandomSwapBodies`),
    ``rotate`` (``(x, y, z)`` degrees of :class:`~skelgraph.transforms.RandomRotation`; 2-D layouts turn in the
    image plane by the largest of them), ``scale`` (``(low, high)`` of :class:`~skelgraph.transforms.RandomScale`),
    ``noise`` (sigma of :class:`~skelgraph.transforms.GaussianNoise` in the scaled units); absent or zero entries
    are off. ``sampling``: how training draws its ``T`` frames (:class:`~skelgraph.transforms.FixedLength`
    ``"random"``, ``"segment"`` or ``"window"``); evaluation always takes evenly spaced frames.

    Clean-up before everything else, on every sample alike: ``uncross_legs``
    (:class:`~skelgraph.transforms.UncrossLegs`) and ``smooth`` (``(window, order)`` of
    :class:`~skelgraph.transforms.SmoothTime`)."""
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
    if uncross_legs:  # the clean-up steps too: only when on
        spec["uncross_legs"] = True
    if smooth is not None:
        spec["smooth"] = [int(smooth[0]), int(smooth[1])]
    return spec


#: Fields of a pipeline spec (:func:`pipeline_spec`) and the augmentations it may name.
PIPELINE_FIELDS = ("layout", "T", "view_normalize", "scale", "stack_bodies", "velocity", "augment", "score",
                   "sampling", "center", "uncross_legs", "smooth")
AUGMENT_FIELDS = ("swap", "rotate", "scale", "noise")
#: Frame sampling modes of :class:`~skelgraph.transforms.FixedLength`.
SAMPLINGS = ("random", "segment", "window", "uniform")


def _finite(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def check_pipeline_spec(spec: Any) -> None:
    """Raise a one-line ``ValueError`` naming the first field of a pipeline spec (data from a checkpoint) outside
    its declared range: ``T`` an integer in 1..100000, ``scale`` finite and positive, ``stack_bodies`` 0..16,
    flags booleans, ``sampling`` one of :data:`SAMPLINGS`, ``center`` one of :data:`CENTERS`, and the
    augmentation (``swap`` a probability, ``rotate`` up to three finite angles, ``scale`` a finite positive
    ``(low, high)``, ``noise`` finite and non-negative); fields it does not know are refused too."""
    where = "pipeline spec"
    if not isinstance(spec, dict):
        raise ValueError(f"{where}: a dict, got {_shown(spec)}")
    unknown = sorted(str(k) for k in spec if k not in PIPELINE_FIELDS)
    if unknown or "layout" not in spec or "T" not in spec:
        raise ValueError(f"{where}: " + (f"no field {unknown[0]!r} is known" if unknown else "layout and T needed"))
    if type(spec["T"]) is not int or not 1 <= spec["T"] <= 100_000:
        raise ValueError(f"{where}: T must be an integer in 1..100000, got {_shown(spec['T'])}")
    scale = spec.get("scale", 1.0)
    if not _finite(scale) or not 0 < scale <= 1e12:
        raise ValueError(f"{where}: scale must be a finite positive number, got {_shown(scale)}")
    stack = spec.get("stack_bodies", 0)
    if type(stack) is not int or not 0 <= stack <= 16:
        raise ValueError(f"{where}: stack_bodies must be an integer in 0..16, got {_shown(stack)}")
    smooth = spec.get("smooth")
    if smooth is not None and not (isinstance(smooth, (list, tuple)) and len(smooth) == 2
                                   and all(type(v) is int for v in smooth) and 3 <= smooth[0] <= 101
                                   and smooth[0] % 2 == 1 and 0 <= smooth[1] < smooth[0]):
        raise ValueError(f"{where}: smooth must be [window, order], an odd window in 3..101 and an order below it, "
                         f"got {_shown(smooth)}")
    for flag in ("view_normalize", "velocity", "score", "uncross_legs"):
        if not isinstance(spec.get(flag, False), bool):
            raise ValueError(f"{where}: {flag} must be true or false, got {_shown(spec[flag])}")
    if spec.get("sampling", "random") not in SAMPLINGS:
        raise ValueError(f"{where}: sampling must be one of {SAMPLINGS}, got {_shown(spec['sampling'])}")
    if spec.get("center", "frame") not in CENTERS:
        raise ValueError(f"{where}: center must be one of {CENTERS}, got {_shown(spec['center'])}")
    augment = spec.get("augment") or {}
    if not isinstance(augment, dict) or any(k not in AUGMENT_FIELDS for k in augment):
        raise ValueError(f"{where}: augment must be a dict of {AUGMENT_FIELDS}, got {_shown(augment)}")
    swap, rotate, scales, noise = (augment.get(k) for k in AUGMENT_FIELDS)
    if swap is not None and not (_finite(swap) and 0 <= swap <= 1):
        raise ValueError(f"{where}: augment swap must be a probability, got {_shown(swap)}")
    if rotate is not None and not (isinstance(rotate, (list, tuple)) and len(rotate) <= 3
                                   and all(_finite(r) and abs(r) <= 360 for r in rotate)):
        raise ValueError(f"{where}: augment rotate must be up to three finite angles in degrees, got {_shown(rotate)}")
    if scales is not None and not (isinstance(scales, (list, tuple)) and len(scales) == 2
                                   and all(_finite(s) and 0 < s <= 1e6 for s in scales) and scales[0] <= scales[1]):
        raise ValueError(f"{where}: augment scale must be a finite positive (low, high), got {_shown(scales)}")
    if noise is not None and not (_finite(noise) and 0 <= noise <= 1e12):
        raise ValueError(f"{where}: augment noise must be finite and non-negative, got {_shown(noise)}")
    if get_layout(spec["layout"]).num_joints > MAX_JOINTS:
        raise ValueError(f"{where}: a layout of more than {MAX_JOINTS} joints")


class NonFiniteError(ValueError):
    """Pre-processing or a model turned finite input into NaN/Inf (values too large for float32 arithmetic)."""


class CheckFinite(BaseTransform):
    """The last step of every pipeline: its output must be finite (centring, scaling and velocity subtract and
    multiply coordinates, which can overflow float32 even when every input value is finite)."""

    def forward(self, data: Any) -> Any:
        x = data.x
        if isinstance(x, torch.Tensor) and x.is_floating_point() and not bool(torch.isfinite(x).all()):
            name = getattr(data, "name", None)
            raise NonFiniteError(f"{name or 'a sample'}: pre-processing (centring, scaling, velocity) made "
                                 "non-finite values; its coordinates are too large")
        return data


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
                    resample: bool = True, clip: int = 0, clips: int = 1) -> Compose:
    """The transform of :func:`pipeline_spec`; ``train=True`` samples frames at random (ARRN-LSTM, Section
    4.1), and ``extra`` transforms (augmentation) run after the frame sampling. ``resample=False`` leaves out
    :class:`~skelgraph.transforms.FixedLength` (every frame kept: what online prediction runs frame by frame).
    ``clip`` of ``clips`` (evaluation only) picks one of ``clips`` deterministic samplings of the frames
    (multi-clip testing, :class:`~skelgraph.transforms.FixedLength`); ``clips=1`` is the evaluation's own."""
    check_pipeline_spec(spec)
    if train and clips > 1:
        raise ValueError("multi-clip sampling is for evaluation: train=True draws its frames at random")
    layout = pipeline_layout(spec)
    augment = (spec.get("augment") or {}) if train else {}
    steps: list = []
    # Clean-up first, on the recorded frames as they are: every sample alike, training or not.
    if spec.get("uncross_legs"):
        steps.append(UncrossLegs(layout))
    if spec.get("smooth"):
        steps.append(SmoothTime(*spec["smooth"]))
    if augment.get("swap"):
        steps.append(RandomSwapBodies(augment["swap"]))  # before centring: the centre is the first body's
    center = spec.get("center", "frame")
    if center not in CENTERS:  # a checkpoint's spec is data from a file: refuse what no pipeline_spec writes
        raise ValueError(f"pipeline spec: center must be one of {CENTERS}, got {center!r}")
    steps.append(CenterJoints(layout, **centring(center)))
    if spec.get("view_normalize"):
        steps.append(ViewNormalize(layout))
    if spec.get("scale", 1.0) != 1.0:
        steps.append(ScaleCoordinates(spec["scale"]))
    if resample:
        steps.append(FixedLength(spec["T"], spec.get("sampling", "random") if train else "uniform", clip, clips))
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
    return Compose(steps + list(extra or []) + [CheckFinite()])


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
