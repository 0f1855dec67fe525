"""A checkpoint loaded for inference, every part of it checked before use.

What :mod:`skelgraph.predict`, :mod:`skelgraph.online`, :mod:`skelgraph.evaluate` and :mod:`skelgraph.noise` share:
a checkpoint is data from a file, so :func:`load_for_inference` checks its spec fields against their declared
ranges and the model's size against :data:`~skelgraph.training.registry.SPEC_LIMITS` before anything is built
(:func:`~skelgraph.training.registry.build_model`), the pipeline spec
(:func:`~skelgraph.training.registry.check_pipeline_spec`), the class names (one string per class), and the
weights (finite, and the keys and shapes the model has). Every refusal is one
:class:`~skelgraph.training.checkpoint.CheckpointError` line naming the file and the field.

:class:`Predictor` then classifies sequences, and refuses to report scores that are not finite (naming the
sample) rather than print NaN.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch_geometric.data import Batch

from skelgraph.data import SkeletonSequence, to_data
from skelgraph.skeleton import get_layout
from skelgraph.training.checkpoint import CheckpointError, load_checkpoint, load_weights
from skelgraph.training.registry import NonFiniteError, build_model, build_transform, check_pipeline_spec

#: Longest class name accepted from a checkpoint.
MAX_CLASS_NAME = 200


@dataclass
class Loaded:
    """A checkpoint ready for inference: the model (weights loaded, evaluation mode), the checkpoint's ``meta``
    (model, pipeline and dataset specs), its class names and the raw checkpoint dict."""

    model: nn.Module
    meta: dict[str, Any]
    class_names: list[str]
    checkpoint: dict[str, Any]


def load_for_inference(path: str | os.PathLike, device: str | torch.device = "cpu",
                       require: tuple[str, ...] = ("model", "pipeline")) -> Loaded:
    """Load and check a recipe or ``skelgraph.train`` checkpoint (see the module docstring); ``require`` names
    the ``meta`` entries it must have.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: one line naming the file and what is refused.
    """
    ckpt = load_checkpoint(path, map_location=device)
    meta = ckpt.get("meta") or {}
    if not isinstance(meta, dict) or any(k not in meta for k in require) or not isinstance(ckpt.get("model"), dict):
        raise CheckpointError(f"{path}: not a skelgraph recipe checkpoint (its meta lacks "
                              f"{' or '.join(require)}, or it has no weights)")
    names = ckpt.get("class_names")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and len(n) <= MAX_CLASS_NAME
                                                          for n in names):
        raise CheckpointError(f"{path}: its class_names must be a non-empty list of names (strings), got "
                              f"{type(names).__name__}" + (f" of {len(names)}" if isinstance(names, list) else ""))
    try:
        check_pipeline_spec(meta["pipeline"])
        model = build_model(meta["model"], frames=meta["pipeline"]["T"])
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError) as err:
        raise CheckpointError(f"{path}: refused, {' '.join(str(err).split())[:240] or type(err).__name__}") from None
    classes = getattr(model, "num_classes", None)
    if classes is not None and classes != len(names):
        raise CheckpointError(f"{path}: {len(names)} class names for a model of {classes} classes")
    load_weights(path, model, ckpt["model"])
    return Loaded(model.to(device).eval(), meta, names, ckpt)


@dataclass
class Prediction:
    """Top classes of one file: ``(class name, probability)`` pairs, most probable first."""

    source: str
    top: list[tuple[str, float]]


def check_scores(scores: torch.Tensor, sources: list[str]) -> None:
    """Refuse (:class:`~skelgraph.training.registry.NonFiniteError`) a batch of model scores holding NaN/Inf,
    naming the first sample whose scores are not finite."""
    bad = (~torch.isfinite(scores)).flatten(1).any(1)
    if bool(bad.any()):
        source = sources[int(bad.nonzero()[0])] if sources else "a sample"
        raise NonFiniteError(f"{source}: the model's scores are not finite (NaN/Inf); no result is given for it")


class Predictor:
    """A checkpoint loaded for inference (:func:`load_for_inference`)."""

    def __init__(self, checkpoint: str | Path, device: str = "cpu") -> None:
        loaded = load_for_inference(checkpoint, device)
        self.model, self.meta, self.class_names = loaded.model, loaded.meta, loaded.class_names
        self.layout = get_layout(self.meta["pipeline"]["layout"])
        self.transform = build_transform(self.meta["pipeline"], train=False)
        self.device = device

    @torch.no_grad()
    def probabilities(self, sequences: Iterable[SkeletonSequence], batch_size: int = 64) -> torch.Tensor:
        """Class probabilities ``[N, K]`` of ``sequences`` (the softmax of the model's scores), in batches.

        Raises:
            NonFiniteError: pre-processing or the model gave NaN/Inf for a sample (named).
        """
        out, chunk, sources = [], [], []
        for seq in [*sequences, None]:
            if seq is not None:
                source = str(seq.meta.get("source", seq.meta.get("name", "a sample")))
                data = to_data(seq)
                data.name = source
                chunk.append(self.transform(data))
                sources.append(source)
            if chunk and (seq is None or len(chunk) == batch_size):
                scores = self.model(Batch.from_data_list(chunk).to(self.device)).float()
                check_scores(scores, sources)
                out.append(scores.softmax(dim=-1).cpu())
                chunk, sources = [], []
        return torch.cat(out) if out else torch.empty(0, len(self.class_names))

    @torch.no_grad()
    def __call__(self, sequences: list[SkeletonSequence], top: int = 5) -> list[Prediction]:
        probs = self.probabilities(sequences)
        out = []
        for seq, p in zip(sequences, probs):
            values, idx = p.topk(min(top, p.numel()))
            out.append(Prediction(str(seq.meta.get("source", seq.meta.get("name", ""))),
                                  [(self.class_names[i], float(v)) for v, i in zip(values, idx.tolist())]))
        return out
