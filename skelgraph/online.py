"""Online prediction: class probabilities after every frame of a skeleton stream.

:class:`OnlinePredictor` takes frames one at a time (``push``) and answers with the class probabilities of
everything seen so far:

* **Incremental** (models with a ``step`` method: ARRN-LSTM). Every layer before ARRN-LSTM's LSTM works on each
  frame alone, so a new frame runs through the embedding, the RRN, the mask and the attention FC once, and the LSTM
  continues from the state it had after the previous frame: the work per frame does not grow with the stream. The
  pre-processing is the checkpoint's, without the frame sampling (:class:`FixedLength`): every step of it depends on
  the current frame and at most three others (centring: the frame itself, or with ``center="sequence"`` the first
  frame with a body; view normalisation: the first frame with the first body; velocity: the previous frame), so each
  frame is processed with those alone. After frame ``t`` the probabilities equal the offline model's on the ``t``
  frames of the prefix (``build_transform(spec, resample=False)`` then ``model(data)``; tested to float precision).
  One exception to the constant work: with view normalisation, frames that arrive before the first body (while
  another is there) are run again once it appears, because the offline transform rotates them with its view.
* **Sliding window** (every other model: GCA-LSTM's attention scores each step against a memory of the whole
  sequence, so it cannot continue a computation). After each frame the model runs on the last ``window``
  frames (default: the ``T`` it was trained with) through the checkpoint's full pre-processing, exactly as
  offline prediction on those frames; the work per frame is one forward pass over the window.

The models were trained on ``T`` frames sampled from whole clips; a stream delivers every frame. Where the
stream's frame rate is much higher than the training clips' ``T`` frames per action, give the incremental
predictor ``stride=k`` (every ``k``-th frame enters the model; probabilities are repeated in between) and the
window predictor a ``window`` longer than ``T`` (its ``T`` frames are then sampled evenly from it, as in
training).

A frame is an array ``(J, C)`` (one body) or ``(M, J, C)`` with ``C = layout.ndim`` coordinates, or ``C + 1``
channels whose last one is the confidence score; a body missing from a frame is all zeros (or left out at the
end). The number of body slots is fixed per stream (``bodies``).
"""

from __future__ import annotations

import os
from collections import deque
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch_geometric.data import Batch, Data

from skelgraph.data import SkeletonSequence, to_data
from skelgraph.inference import check_scores, load_for_inference
from skelgraph.io._text import FLOAT32_MAX
from skelgraph.skeleton import Layout
from skelgraph.training.registry import build_transform, pipeline_layout


def _float32(value: Any, what: str) -> np.ndarray:
    """``value`` (nested lists of numbers) as float32, refusing what float32 cannot hold (``ValueError``)."""
    try:
        a = np.asarray(value, dtype=np.float64)
    except OverflowError:
        raise ValueError(f"{what} beyond the float range (an integer of hundreds of digits?)") from None
    except TypeError as err:
        raise ValueError(f"{what} must be numbers ({' '.join(str(err).split())[:80]})") from None
    if a.size > 2**20:
        raise ValueError(f"{what} of {a.size} values, far more than one frame")
    if not np.isfinite(a).all() or (np.abs(a) > FLOAT32_MAX).any():
        raise ValueError(f"{what} with NaN/Inf or values beyond the float32 range (+-3.4e38)")
    return a.astype(np.float32)


class OnlinePredictor:
    """Class probabilities after every frame of a stream (see the module docstring).

    Args:
        model: A trained skelgraph model (evaluation mode is set here).
        pipeline: The checkpoint's pipeline spec (:func:`~skelgraph.training.registry.pipeline_spec`).
        class_names: One name per class.
        bodies: Body slots per frame (1: one person; 2 for interactions).
        mode: ``"incremental"`` (needs a model with ``step``, ARRN-LSTM), ``"window"``, or None to pick
            incremental where the model allows it.
        window: Frames a window model sees (default: the pipeline's ``T``).
        stride: Incremental mode: every ``stride``-th frame enters the model.
        device: Where the model runs.
    """

    def __init__(self, model: nn.Module, pipeline: dict[str, Any], class_names: list[str], bodies: int = 1,
                 mode: str | None = None, window: int | None = None, stride: int = 1, device: str = "cpu") -> None:
        # Centring on the mean of all frames needs frames that have not arrived: only windows can do it.
        whole_sequence = pipeline.get("center", "frame") == "mean"
        if mode is None:
            mode = "incremental" if hasattr(model, "step") and not whole_sequence else "window"
        if mode not in ("incremental", "window"):
            raise ValueError(f"unknown mode {mode!r}; expected 'incremental' or 'window'")
        if mode == "incremental" and whole_sequence:
            raise ValueError("this model's pre-processing centres every frame on the mean over the whole sequence "
                             "(center='mean'), which a stream knows only at its end; use mode='window'")
        if mode == "incremental" and not hasattr(model, "step"):
            raise ValueError(f"{type(model).__name__} cannot continue from a state (no step method); use "
                             "mode='window'")
        if bodies < 1 or stride < 1 or (window is not None and window < 1):
            raise ValueError("bodies, stride and window must be at least 1")
        self.model = model.eval().to(device)
        self.pipeline = pipeline
        self.layout: Layout = pipeline_layout(pipeline)
        self.class_names = list(class_names)
        self.bodies, self.mode, self.stride, self.device = bodies, mode, stride, device
        self.window = window or int(pipeline["T"])
        # Incremental: the pre-processing of each frame sees at most the frames it depends on (module docstring).
        self.transform = build_transform(pipeline, resample=mode == "window")
        self.reset()

    @classmethod
    def from_checkpoint(cls, checkpoint: str | os.PathLike, device: str = "cpu", **kwargs: Any) -> OnlinePredictor:
        """An online predictor for a recipe or ``skelgraph.train`` checkpoint (``model.pt`` or ``best.pt``)."""
        loaded = load_for_inference(checkpoint, device)
        return cls(loaded.model, loaded.meta["pipeline"], loaded.class_names, device=device, **kwargs)

    def reset(self) -> None:
        """Start a new stream."""
        self.frames_seen = 0
        self._state: Any = None
        self._first: tuple[np.ndarray, np.ndarray | None] | None = None  # first frame with body 0 present
        self._origin: tuple[np.ndarray, np.ndarray | None] | None = None  # first frame with any body present
        self._previous: tuple[np.ndarray, np.ndarray | None] | None = None
        self._pending: list[tuple[np.ndarray, np.ndarray | None]] = []  # frames before body 0, if view-normalised
        self._recent: deque[tuple[np.ndarray, np.ndarray | None]] = deque(maxlen=self.window)
        self._probabilities: Tensor | None = None

    # ----------------------------------------------------------------------------------------------- input
    def frame(self, frame: Any, score: Any = None) -> tuple[np.ndarray, np.ndarray | None]:
        """One frame as ``(coords (M, J, C), score (M, J) or None)`` with ``M = bodies``; raises ``ValueError``
        for a frame that does not fit the layout or holds values that are not finite float32 numbers."""
        J, C = self.layout.num_joints, self.layout.ndim
        a = _float32(frame, "coordinates")
        if a.ndim == 2:
            a = a[None]
        if a.ndim != 3 or a.shape[1] != J or a.shape[2] not in (C, C + 1) or not 1 <= a.shape[0] <= self.bodies:
            raise ValueError(f"a frame of shape ({J}, {C}) or (M, {J}, {C}) with M <= {self.bodies} bodies for the "
                             f"{C}-D layout {self.layout.name!r} (or {C + 1} channels, the last a score), got "
                             f"{a.shape}")
        if a.shape[2] == C + 1:
            if score is not None:
                raise ValueError("a score both as the frame's last channel and as score=")
            a, score = a[..., :C], a[..., C]
        if score is not None:
            score = _float32(score, "scores")
            if score.size != a.shape[0] * a.shape[1]:
                raise ValueError(f"scores of shape {a.shape[:2]}, got {score.shape}")
            score = score.reshape(a.shape[:2])
        if not np.isfinite(a).all() or (score is not None and not (np.isfinite(score).all() and (score >= 0).all())):
            raise ValueError("a frame with NaN/Inf coordinates or invalid (negative, NaN) scores")
        missing = self.bodies - a.shape[0]
        if missing:
            a = np.concatenate([a, np.zeros((missing, J, C), np.float32)])
            score = np.concatenate([score, np.zeros((missing, J), np.float32)]) if score is not None else None
        return a, score

    def _graph(self, frames: list[tuple[np.ndarray, np.ndarray | None]]) -> Data:
        coords = np.stack([f[0] for f in frames])
        scored = [f[1] is not None for f in frames]
        if any(scored) and not all(scored):
            raise ValueError("some frames of the stream have scores and others not")
        score = np.stack([f[1] for f in frames]) if all(scored) else None
        return self.transform(to_data(SkeletonSequence(coords, self.layout, score=score)))

    # ----------------------------------------------------------------------------------------------- frames
    @torch.no_grad()
    def push(self, frame: Any, score: Any = None) -> Tensor:
        """Add the next frame; returns the class probabilities ``[K]`` after it.

        Raises:
            ValueError: a frame that does not fit the layout, holds NaN/Inf, or whose pre-processing or scores
                are not finite (:class:`~skelgraph.training.registry.NonFiniteError`). The stream is then as if
                the frame had never come: the next one continues from the state before it.
        """
        current = self.frame(frame, score)
        index = self.frames_seen
        if self.mode == "window":
            before = list(self._recent)
            self._recent.append(current)
            try:
                probabilities = self._predict(Batch.from_data_list([self._graph(list(self._recent))]))
            except BaseException:
                self._recent = deque(before, maxlen=self.window)
                raise
            self.frames_seen += 1
            return probabilities
        if index % self.stride:
            self.frames_seen += 1
            return self._probabilities  # type: ignore[return-value]
        body0 = bool((current[0][0] != 0).any())
        state = self._state
        if self._first is None and body0 and self._pending:
            # The view rotation is known only now, and the offline transform turns the earlier frames (where
            # other bodies were) with it too: run those frames again, once, from a fresh state.
            x = self._graph([*self._pending, current]).x
            state = None
        else:
            # This frame's pre-processing depends on the first frame with a body (sequence centring), the first
            # frame with body 0 (view normalisation) and the previous frame that entered the model (velocity):
            # process them together, in stream order, and keep the last.
            origin = self._origin if self.pipeline.get("center", "frame") == "sequence" else None
            context = [f for f in (origin, self._first, self._previous) if f is not None]
            unique = list({id(f): f for f in context}.values())
            x = self._graph([*unique, current]).x[:, -1:]
        step = Data(x=x, num_frames=torch.ones(1, dtype=torch.long))
        scores, state = self.model.step(Batch.from_data_list([step]).to(self.device), state)
        check_scores(scores.float(), [f"frame {index + 1}"])
        # Only a frame that went through is remembered (for velocity, centring and view normalisation).
        self._state, self.frames_seen = state, index + 1
        if self._origin is None and bool((current[0] != 0).any()):
            self._origin = current
        if self._first is None:
            if body0:
                self._first, self._pending = current, []
            elif self.pipeline.get("view_normalize"):
                self._pending.append(current)
        self._previous = current
        self._probabilities = scores.float().softmax(-1)[0].cpu()
        return self._probabilities

    def _predict(self, batch: Batch) -> Tensor:
        scores = self.model(batch.to(self.device)).float()
        check_scores(scores, [f"frame {self.frames_seen + 1}"])
        self._probabilities = scores.softmax(-1)[0].cpu()
        return self._probabilities

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` most probable classes after the last frame: ``(name, probability)``, most probable first."""
        if self._probabilities is None:
            return []
        values, idx = self._probabilities.topk(min(k, self._probabilities.numel()))
        return [(self.class_names[i], float(v)) for v, i in zip(values, idx.tolist())]

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({type(self.model).__name__}, mode={self.mode!r}, layout={self.layout.name!r}, "
                f"bodies={self.bodies}, " + (f"window={self.window})" if self.mode == "window"
                                             else f"stride={self.stride})"))
