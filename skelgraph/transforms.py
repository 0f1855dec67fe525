"""Transforms on skeleton graphs (PyG :class:`~torch_geometric.transforms.BaseTransform` subclasses).

They act on the graphs of :func:`skelgraph.data.to_data` (``x`` ``[M * J, T, C]``, body-major, ``C`` = 3 for
3-D coordinates or 2 for image keypoints; optionally ``score`` ``[M * J, T]``, a pose estimator's per-joint
confidence) and compose with :class:`torch_geometric.transforms.Compose`. The usual order is::

    Compose([CenterJoints(layout), ViewNormalize(layout), FixedLength(T), RandomRotation(...), LineFeatures()])

Transforms that move joints never touch frames in which a body is absent (all-zero), so zero padding stays
zero; they act on the coordinates only, never on ``score`` (frame sampling, padding and body order follow it).
On 2-D keypoints rotations turn the image plane. :class:`LineFeatures` reads ``x``; put it after every transform
that changes ``x``.
Random transforms draw from torch's global generator, so ``torch.manual_seed`` makes them repeatable.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from skelgraph.data import node_line_features, per_frame_edge_index
from skelgraph.skeleton import Layout, get_layout


def _bodies(data: Data) -> Tensor:
    """``x`` viewed as ``[M, J, T, C]``."""
    m = int(data.num_bodies)
    return data.x.view(m, data.x.size(0) // m, *data.x.shape[1:])


def _present(bodies: Tensor) -> Tensor:
    """``[M, 1, T, 1]`` mask of (body, frame) pairs holding data (not all-zero)."""
    return (bodies != 0).any(dim=-1, keepdim=True).any(dim=1, keepdim=True)


def _body_scores(data: Data) -> Tensor | None:
    """``score`` viewed as ``[M, J, T]`` (None without scores)."""
    score = getattr(data, "score", None)
    if score is None:
        return None
    m = int(data.num_bodies)
    return score.view(m, score.size(0) // m, *score.shape[1:])


def _coordinates(data: Data, owner: str) -> int:
    """The coordinates per joint of ``data.x`` (2 or 3), or a ``ValueError`` naming where ``owner`` belongs."""
    C = data.x.size(-1)
    if C not in (2, 3):
        raise ValueError(f"{owner} acts on 2-D or 3-D joint coordinates, got {C} channels per joint: put it before "
                         "AddVelocity, AppendScore and StackBodies")
    return C


class CenterJoints(BaseTransform):
    """Subtract the body centre: the mean of the layout's centre joints (ARRN-LSTM Section 4.1).

    The centre is taken from the first body that is present in each frame and subtracted from every body,
    so two-person samples keep the people's relative position. ``per_frame=False`` subtracts one centre from the
    whole sequence, which keeps the body's path through space (as in the GCA-LSTM inputs of some works): the first
    frame's (``over="first"``) or the mean of every frame's centre over the frames where a body is present
    (``over="mean"``).

    With confidences (``data.score``) the centre is the score-weighted mean of the centre joints, so a joint the
    pose estimator missed (score 0, often at the image origin) does not drag it away; a frame whose centre joints
    all score 0 falls back to their plain mean.
    """

    def __init__(self, layout: Layout | str, per_frame: bool = True, over: str = "first") -> None:
        if over not in ("first", "mean"):
            raise ValueError(f"unknown over {over!r}; expected 'first' or 'mean'")
        self.layout = get_layout(layout)
        self.per_frame = per_frame
        self.over = over

    def forward(self, data: Data) -> Data:
        bodies = _bodies(data)
        present = _present(bodies)  # [M, 1, T, 1]
        idx = self.layout.center_index.to(bodies.device)
        joints = bodies[:, idx]  # [M, K, T, C]
        centres = joints.mean(dim=1, keepdim=True)  # [M, 1, T, C]
        scores = _body_scores(data)
        if scores is not None:
            w = scores[:, idx].unsqueeze(-1).to(bodies.dtype)  # [M, K, T, 1]
            total = w.sum(dim=1, keepdim=True)
            weighted = (w * joints).sum(dim=1, keepdim=True) / total.clamp_min(torch.finfo(bodies.dtype).tiny)
            centres = torch.where(total > 0, weighted, centres)
        # First present body per frame: the main actor's centre.
        first = present.float().argmax(dim=0, keepdim=True)  # [1, 1, T, 1]
        centre = centres.gather(0, first.expand(1, 1, -1, centres.size(-1)))  # [1, 1, T, C]
        if not self.per_frame:
            any_frame = present.any(dim=0).view(-1)
            if self.over == "mean" and bool(any_frame.any()):
                centre = centre[:, :, any_frame].mean(dim=2, keepdim=True)
            else:
                t0 = int(any_frame.float().argmax()) if bool(any_frame.any()) else 0
                centre = centre[:, :, t0 : t0 + 1]
        data.x = torch.where(present, bodies - centre, bodies).view_as(data.x)
        return data

    def __repr__(self) -> str:
        over = f", over={self.over!r}" if not self.per_frame and self.over != "first" else ""
        return f"{self.__class__.__name__}({self.layout.name!r}, per_frame={self.per_frame}{over})"


def _rotation_to_frame(up: Tensor, across: Tensor) -> Tensor:
    """Rotation matrix whose rows are the new axes: x along ``across`` (orthogonalised), y along ``up``."""
    y = up / up.norm().clamp_min(1e-8)
    x = across - (across @ y) * y
    if x.norm() < 1e-8:  # degenerate skeleton: keep only the up-alignment
        x = torch.tensor([1.0, 0.0, 0.0], dtype=up.dtype) - y[0] * y
    x = x / x.norm().clamp_min(1e-8)
    z = torch.linalg.cross(x, y)
    return torch.stack([x, y, z])


def _rotation_2d(angle: Tensor) -> Tensor:
    """2 x 2 counter-clockwise rotation by ``angle`` (radians)."""
    c, s = torch.cos(angle), torch.sin(angle)
    return torch.stack([c, -s, s, c]).view(2, 2)


class ViewNormalize(BaseTransform):
    """Rotate the sequence so that, in the first frame with a body, hip -> spine points along +y and
    left -> right shoulder along +x. One rotation for the whole sequence and all bodies (it keeps the motion).
    Apply after :class:`CenterJoints`; rotation is about the origin. On 2-D keypoints the rotation stays in the
    image plane, where only hip -> spine can be aligned (with +y); the shoulders are not used.

    Needs the layout's ``view`` joints (hip, spine, left shoulder, right shoulder).
    """

    def __init__(self, layout: Layout | str) -> None:
        self.layout = get_layout(layout)
        self.layout.require("view", "ViewNormalize")

    def forward(self, data: Data) -> Data:
        bodies = _bodies(data)
        C = _coordinates(data, "ViewNormalize")
        present = _present(bodies)[0, 0, :, 0]
        if not bool(present.any()):
            return data
        t0 = int(present.float().argmax())
        hip, spine, ls, rs = (bodies[0, self.layout.index(n), t0] for n in self.layout.view)
        if C == 2:
            up = spine - hip
            # The angle of hip -> spine from +y (towards +x): rotating by it puts hip -> spine on +y.
            rot = _rotation_2d(torch.atan2(up[0], up[1])) if bool(up.norm() > 1e-8) else torch.eye(2)
        else:
            rot = _rotation_to_frame(spine - hip, rs - ls)
        data.x = data.x @ rot.T.to(data.x.dtype)
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.layout.name!r})"


class FixedLength(BaseTransform):
    """Bring every sequence to ``T`` frames (ARRN-LSTM Section 4.1).

    Shorter sequences are zero-padded at the end. Longer ones keep ``T`` of their frames in temporal order:
    ``mode="random"`` draws them without replacement (training), ``mode="segment"`` cuts the sequence into ``T``
    equal segments and draws one frame from each (training; the GCA-LSTM authors' ST-LSTM code and PYSKL's
    ``UniformSample``: the kept frames stay evenly spread), ``mode="window"`` keeps ``T`` consecutive frames from
    a random start (training; a random crop in time), ``mode="uniform"`` takes evenly spaced frames
    (evaluation, deterministic). ``num_frames`` becomes the number of real frames kept; ``score`` follows
    the frames (zero at padding).

    Multi-clip testing (PYSKL's ``num_clips`` at test time): ``clip=k`` of ``clips=N`` (``mode="uniform"``
    only) shifts the evenly spaced frames ``t * s`` (``s = (n - 1) / (T - 1)``, the spacing) by
    ``((k + 0.5) / N - 0.5) * s``, rounded and kept inside the sequence: every clip takes one frame of each of
    the ``T`` windows of width ``s`` centred on the uniform frames, at offset ``(k + 0.5) / N`` of the window
    (the first and last windows reach half outside the sequence, where clips share its first and last frame).
    ``clips=1`` is the uniform sampling itself (no shift). A sequence of at most ``T`` frames keeps all of
    them, so its clips are all the same.
    """

    def __init__(self, T: int, mode: str = "uniform", clip: int = 0, clips: int = 1) -> None:
        if T < 1:
            raise ValueError(f"T must be positive, got {T}")
        if mode not in ("random", "segment", "window", "uniform"):
            raise ValueError(f"unknown mode {mode!r}; expected 'random', 'segment', 'window' or 'uniform'")
        if clips < 1 or not 0 <= clip < clips:
            raise ValueError(f"clip must be in 0..clips-1 with clips >= 1, got clip={clip}, clips={clips}")
        if clips > 1 and mode != "uniform":
            raise ValueError(f"clips are deterministic samplings: mode must be 'uniform', got {mode!r}")
        self.T = T
        self.mode = mode
        self.clip, self.clips = clip, clips

    def forward(self, data: Data) -> Data:
        n = int(data.num_frames)
        x = data.x[:, :n]
        score = data.score[:, :n] if getattr(data, "score", None) is not None else None
        if n > self.T:
            if self.mode == "random":
                idx = torch.randperm(n)[: self.T].sort().values
            elif self.mode == "segment":
                bounds = torch.arange(self.T + 1) * n // self.T  # n > T: every segment holds a frame
                width = bounds[1:] - bounds[:-1]
                idx = bounds[:-1] + (torch.rand(self.T) * width).long().clamp_max(width - 1)
            elif self.mode == "window":
                idx = torch.randint(n - self.T + 1, ()) + torch.arange(self.T)
            else:
                points = torch.linspace(0, n - 1, self.T)
                if self.clips > 1:
                    spacing = (n - 1) / max(self.T - 1, 1)
                    points = points + ((self.clip + 0.5) / self.clips - 0.5) * spacing
                idx = points.round().clamp(0, n - 1).long()
            x = x[:, idx]
            score = score[:, idx] if score is not None else None
        elif n < self.T:
            x = torch.cat([x, x.new_zeros(x.size(0), self.T - n, x.size(2))], dim=1)
            score = torch.cat([score, score.new_zeros(score.size(0), self.T - n)], dim=1) if score is not None \
                else None
        data.x = x
        if score is not None:
            data.score = score
        data.num_frames = torch.tensor([min(n, self.T)])
        return data

    def __repr__(self) -> str:
        clips = f", clip={self.clip}, clips={self.clips}" if self.clips > 1 else ""
        return f"{self.__class__.__name__}(T={self.T}, mode={self.mode!r}{clips})"


def _rotation(angles: Tensor) -> Tensor:
    """Rotation matrix R = Rz @ Ry @ Rx for angles (radians) about x, y, z."""
    cx, cy, cz = torch.cos(angles)
    sx, sy, sz = torch.sin(angles)
    one, zero = torch.ones(()), torch.zeros(())
    rx = torch.stack([one, zero, zero, zero, cx, -sx, zero, sx, cx]).view(3, 3)
    ry = torch.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy]).view(3, 3)
    rz = torch.stack([cz, -sz, zero, sz, cz, zero, zero, zero, one]).view(3, 3)
    return rz @ ry @ rx


class RandomRotation(BaseTransform):
    """Rotate the whole sequence about the origin by angles drawn uniformly from ``[-d, d]`` degrees per axis.

    ``degrees`` is one bound for all axes or an ``(x, y, z)`` triple (e.g. ``(0, 30, 0)`` for rotation about
    the vertical axis only). 2-D keypoints turn in the image plane, i.e. about the z axis (the third bound).
    """

    def __init__(self, degrees: float | tuple[float, float, float] = 15.0) -> None:
        self.degrees = (degrees,) * 3 if isinstance(degrees, (int, float)) else tuple(degrees)

    def forward(self, data: Data) -> Data:
        C = _coordinates(data, "RandomRotation")
        bound = torch.tensor(self.degrees, dtype=torch.float32) * math.pi / 180
        angles = (torch.rand(3) * 2 - 1) * bound
        rot = _rotation(angles) if C == 3 else _rotation_2d(angles[2])
        data.x = data.x @ rot.T.to(data.x.dtype)
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(degrees={self.degrees})"


class RandomScale(BaseTransform):
    """Multiply all coordinates by one factor drawn uniformly from ``scales = (low, high)``."""

    def __init__(self, scales: tuple[float, float] = (0.9, 1.1)) -> None:
        self.scales = scales

    def forward(self, data: Data) -> Data:
        low, high = self.scales
        data.x = data.x * (low + torch.rand(()) * (high - low))
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(scales={self.scales})"


class ScaleCoordinates(BaseTransform):
    """Multiply all coordinates by a fixed ``factor``, e.g. ``1 / std`` of the centred training coordinates so
    that networks see unit-scale inputs (metres make classes differ by centimetres, which slows learning)."""

    def __init__(self, factor: float) -> None:
        if not factor > 0:
            raise ValueError(f"factor must be positive, got {factor}")
        self.factor = float(factor)

    def forward(self, data: Data) -> Data:
        data.x = data.x * self.factor
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.factor:.6g})"


class GaussianNoise(BaseTransform):
    """Add independent Gaussian noise of standard deviation ``sigma`` (in the data's units, e.g. metres) to every
    coordinate of every real frame (GCA-LSTM robustness study, Table VI). Padding and absent bodies stay zero.

    ``sigma`` is one value for every coordinate or one per channel, e.g. ``(sx, sy, sz)`` for data whose axes
    have different units (SBU's normalised coordinates: 1 cm is ``(1/256, 1/192, 1/128)``;
    :func:`skelgraph.noise.units_per_cm`).
    """

    def __init__(self, sigma: float | tuple[float, ...]) -> None:
        values = (sigma,) if isinstance(sigma, (int, float)) else tuple(float(s) for s in sigma)
        if not values or min(values) < 0:
            raise ValueError(f"sigma must be non-negative, got {sigma}")
        self.sigma = sigma if isinstance(sigma, (int, float)) else values

    def forward(self, data: Data) -> Data:
        bodies = _bodies(data)
        sigma = torch.as_tensor(self.sigma, dtype=bodies.dtype)
        if sigma.dim() and sigma.numel() != bodies.size(-1):
            raise ValueError(f"{self!r} gives {sigma.numel()} standard deviations for {bodies.size(-1)} channels")
        noise = torch.randn_like(bodies) * sigma
        data.x = (bodies + noise * _present(bodies)).view_as(data.x)
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(sigma={self.sigma})"


class LineFeatures(BaseTransform):
    """Add the ARRN-LSTM line features (Eq. 2) as ``x_line`` ``[M * J, T, C (J - 1)]``.

    With ``replace=True`` they replace ``x`` instead (a line-only graph for any PyG model).
    """

    def __init__(self, replace: bool = False) -> None:
        self.replace = replace

    def forward(self, data: Data) -> Data:
        lines = node_line_features(data.x, data.x.size(0) // int(data.num_bodies))
        if self.replace:
            data.x = lines
        else:
            data.x_line = lines
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(replace={self.replace})"


class StackBodies(BaseTransform):
    """Put the bodies of a sample side by side in the channels: ``x`` ``[M * J, T, C]`` -> ``[J, T, C * bodies]``.

    The alternative to the project's default multi-body rule (every body through the network on its own, class
    scores averaged), for interactions where the network must see both people at once (SBU Kinect Interaction).
    A joint's features become ``[first body; second body; ...]``, a missing body is zeros (as an absent frame
    is), and the graph keeps one skeleton's edges. A model then takes ``in_channels = C * bodies``. Put it after
    every transform that moves joints (they work per body) and before :class:`LineFeatures`. ``score`` becomes
    ``[J, T, bodies]`` likewise.

    Args:
        bodies: Channel blocks per joint (2 for the NTU and SBU two-person samples).

    Raises:
        ValueError: A sample has more than ``bodies`` bodies (none is dropped silently).
    """

    def __init__(self, bodies: int = 2) -> None:
        if bodies < 1:
            raise ValueError(f"bodies must be at least 1, got {bodies}")
        self.bodies = bodies

    def forward(self, data: Data) -> Data:
        x = _bodies(data)  # [M, J, T, C]
        M, J = x.shape[:2]
        if M > self.bodies:
            name = getattr(data, "name", None)
            raise ValueError(f"sample {name or ''} has {M} bodies; StackBodies({self.bodies}) keeps at most "
                             f"{self.bodies} (choose the bodies first, or stack more)")
        if M < self.bodies:
            x = torch.cat([x, x.new_zeros(self.bodies - M, *x.shape[1:])])
        data.x = x.permute(1, 2, 0, 3).reshape(J, x.size(2), -1)  # per joint: [body 0 channels, body 1, ...]
        scores = _body_scores(data)
        if scores is not None:
            if M < self.bodies:
                scores = torch.cat([scores, scores.new_zeros(self.bodies - M, *scores.shape[1:])])
            data.score = scores.permute(1, 2, 0)  # [J, T, bodies]
        if data.edge_index is not None:
            data.edge_index = data.edge_index[:, (data.edge_index < J).all(dim=0)]  # first body's edges
        data.body = torch.zeros(J, dtype=torch.long)
        data.num_bodies = torch.tensor([1])
        data.num_nodes = J
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(bodies={self.bodies})"


class RandomSwapBodies(BaseTransform):
    """Reverse the order of a sample's bodies with probability ``p`` (person swap augmentation).

    In a two-person interaction (SBU, NTU A50-A60), which person is stored first is arbitrary, but once
    :class:`StackBodies` puts them side by side it becomes part of the input. Put this transform first, before
    :class:`CenterJoints` (the centre is the first present body's), so a swapped sample is centred on the
    other person. One-body samples are left unchanged.
    """

    def __init__(self, p: float = 0.5) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a probability, got {p}")
        self.p = p

    def forward(self, data: Data) -> Data:
        if int(data.num_bodies) > 1 and float(torch.rand(())) < self.p:
            data.x = _bodies(data).flip(0).reshape_as(data.x)
            scores = _body_scores(data)
            if scores is not None:
                data.score = scores.flip(0).reshape_as(data.score)
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p})"


class UncrossLegs(BaseTransform):
    """Undo a depth sensor's left/right confusion of the legs: in every frame whose knees, ankles and feet (those
    the layout has) lie mostly in the opposite left/right order to the hips along the hip axis, the left and right
    leg joints trade places (and their scores with them).

    A person standing, walking or kicking does not cross a knee past the other along the hip axis; Kinect v1's
    tracker, guessing which leg is which, does: on MSR Action3D 48 of the 557 sequences have their legs crossed in
    at least half of their frames, 34 of them subject 2's (``bench/msr_data_quality.py``). A fixed rule on each
    sample's own coordinates: no label and no other sample is read, so it applies to test data as to training
    data. Put it before :class:`CenterJoints` (or anywhere before :class:`FixedLength`); frames where a body is
    absent are left alone.
    """

    LEG_JOINTS = ("Knee", "Ankle", "Foot")

    def __init__(self, layout: Layout | str) -> None:
        self.layout = get_layout(layout)
        names = self.layout.joints
        if "HipLeft" not in names or "HipRight" not in names:
            raise ValueError(f"UncrossLegs needs HipLeft and HipRight; layout {self.layout.name!r} has neither pair")
        self.pairs = [(names.index(f"{p}Left"), names.index(f"{p}Right")) for p in self.LEG_JOINTS
                      if f"{p}Left" in names and f"{p}Right" in names]
        if not self.pairs:
            raise ValueError(f"UncrossLegs needs a left/right knee, ankle or foot; layout {self.layout.name!r} has "
                             "none")
        self.hips = names.index("HipLeft"), names.index("HipRight")

    def forward(self, data: Data) -> Data:
        bodies = _bodies(data)  # [M, J, T, C]
        present = _present(bodies)[:, 0, :, 0]  # [M, T]
        axis = bodies[:, self.hips[0]] - bodies[:, self.hips[1]]  # [M, T, C], pointing to the left hip
        left = torch.tensor([a for a, _ in self.pairs], device=bodies.device)
        right = torch.tensor([b for _, b in self.pairs], device=bodies.device)
        order = ((bodies[:, left] - bodies[:, right]) * axis.unsqueeze(1)).sum(-1)  # [M, P, T]
        crossed = ((order < 0).sum(1) * 2 > len(self.pairs)) & present  # a strict majority of the pairs
        if not bool(crossed.any()):
            return data
        perm = torch.arange(bodies.size(1), device=bodies.device)
        perm[left], perm[right] = right, left
        swap = crossed[:, None, :, None]  # [M, 1, T, 1]
        data.x = torch.where(swap, bodies[:, perm], bodies).reshape_as(data.x)
        scores = _body_scores(data)
        if scores is not None:
            data.score = torch.where(swap[..., 0], scores[:, perm], scores).reshape_as(data.score)
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.layout.name!r})"


class SmoothTime(BaseTransform):
    """Savitzky-Golay smoothing of every joint trajectory: each frame is replaced by the value at that frame of a
    polynomial of degree ``order`` fitted by least squares to the ``window`` frames around it (HBRNN, Du et al.
    2015, smooth MSR Action3D's skeletons this way).

    Frames where a body is absent (all-zero), padded frames and frames beyond the ends do not enter any fit, so
    the window shrinks at the ends and at gaps; a frame whose shrunken window holds fewer than ``order + 1``
    present frames keeps its value. Acts on the coordinates only; put it before :class:`FixedLength` (it smooths
    the recorded frames, not the sampled ones) and before :class:`AddVelocity`.
    """

    def __init__(self, window: int = 5, order: int = 2) -> None:
        if window < 3 or window % 2 == 0:
            raise ValueError(f"SmoothTime: window must be an odd number of frames >= 3, got {window}")
        if not 0 <= order < window:
            raise ValueError(f"SmoothTime: order must be in [0, window), got {order} for window {window}")
        self.window, self.order = window, order

    def forward(self, data: Data) -> Data:
        bodies = _bodies(data)  # [M, J, T, C]
        _coordinates(data, "SmoothTime")
        M, J, T, C = bodies.shape
        present = _present(bodies)[:, 0, :, 0].to(bodies.dtype)  # [M, T]
        n = getattr(data, "num_frames", None)
        if n is not None:
            present[:, int(n):] = 0
        h, P = self.window // 2, self.order + 1
        x = torch.nn.functional.pad(bodies, (0, 0, h, h))  # [M, J, T + 2h, C]
        w = torch.nn.functional.pad(present, (h, h))  # [M, T + 2h]
        k = torch.arange(-h, h + 1, dtype=bodies.dtype, device=bodies.device)
        powers = k[:, None] ** torch.arange(2 * P - 1, dtype=bodies.dtype, device=bodies.device)  # [W, 2P-1]
        win_w = w.unfold(1, self.window, 1)  # [M, T, W]
        win_x = x.unfold(2, self.window, 1)  # [M, J, T, C, W]
        moments = win_w @ powers  # [M, T, 2P-1]: sum_k w_k k^m
        idx = torch.arange(P, device=bodies.device)
        A = moments[..., idx[:, None] + idx[None, :]]  # [M, T, P, P]
        rhs = torch.einsum("mjtcw,mtw,wp->mjtcp", win_x, win_w, powers[:, :P])  # [M, J, T, C, P]
        # The fitted value at offset 0 is the constant coefficient: e_0^T A^-1 rhs = (A^-1 e_0) . rhs (A is symmetric).
        count = win_w.sum(-1)  # [M, T]
        ok = (count >= P) & (present > 0)
        e0 = torch.zeros(P, dtype=bodies.dtype, device=bodies.device)
        e0[0] = 1
        eye = torch.eye(P, dtype=bodies.dtype, device=bodies.device)
        safe = torch.where(ok[..., None, None], A, eye)
        coeff = torch.linalg.solve(safe, e0.expand(M, T, P))  # [M, T, P]
        smoothed = torch.einsum("mjtcp,mtp->mjtc", rhs, coeff)
        data.x = torch.where(ok[:, None, :, None], smoothed, bodies).reshape_as(data.x)
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(window={self.window}, order={self.order})"


class AddVelocity(BaseTransform):
    """Append each joint's displacement since the previous frame to its features: ``x`` ``[N, T, C]`` ->
    ``[N, T, 2 C]`` (positions first). A deviation from both papers, which feed positions only.

    The displacement is zero at the first frame, at padded frames (after ``num_frames``) and wherever the body is
    absent in the frame or the one before, so padding and absences never create motion. Put it after
    :class:`FixedLength` (the displacement is then between the frames kept) and before :class:`StackBodies`.
    """

    def forward(self, data: Data) -> Data:
        bodies = _bodies(data)  # [M, J, T, C]
        present = _present(bodies)  # [M, 1, T, 1]
        velocity = torch.zeros_like(bodies)
        velocity[:, :, 1:] = bodies[:, :, 1:] - bodies[:, :, :-1]
        moving = present.clone()
        moving[:, :, 1:] &= present[:, :, :-1]
        moving[:, :, :1] = False
        n = getattr(data, "num_frames", None)
        if n is not None:
            moving[:, :, int(n):] = False
        velocity = velocity * moving
        data.x = torch.cat([bodies, velocity], dim=-1).reshape(data.x.size(0), data.x.size(1), -1)
        return data


class AppendScore(BaseTransform):
    """Append each joint's confidence (``data.score``) to its features: ``x`` ``[N, T, C]`` -> ``[N, T, C + 1]``,
    the way skeleton-action toolkits feed 2-D keypoints (x, y, score). Put it after every transform that moves
    joints, after :class:`AddVelocity` and before :class:`StackBodies`.

    Raises:
        ValueError: the sample carries no ``score`` (a model trained with scores needs them at inference too).
    """

    def forward(self, data: Data) -> Data:
        score = getattr(data, "score", None)
        if score is None:
            name = getattr(data, "name", None)
            raise ValueError(f"sample {name or ''} has no confidence scores, which AppendScore (a pipeline trained "
                             "with scores as a channel) needs")
        if score.shape != data.x.shape[:2]:
            raise ValueError(f"AppendScore: score {tuple(score.shape)} does not match x {tuple(data.x.shape)} (put it "
                             "before StackBodies)")
        data.x = torch.cat([data.x, score.unsqueeze(-1).to(data.x.dtype)], dim=-1)
        return data


class PerFrameGraphs(BaseTransform):
    """Turn a skeleton graph into one graph per frame, for stock PyG layers: ``x`` ``[N, T, C]`` -> ``[N * T, C]``.

    skelgraph keeps the time axis on the node features (``x`` ``[N, T, C]``, ``node_dim=0``); stock PyG layers
    read ``x`` as ``[num_nodes, C]`` (``node_dim=-2``) and would take the frames for nodes. After this transform
    every frame is its own copy of the graph: node ``n`` at frame ``t`` is node ``n * T + t`` (node-major, so
    ``h.view(-1, T, h.size(-1))`` turns any layer's output, of one graph or of a batch of graphs of equal ``T``,
    back into ``[N, T, C']``), and each edge is repeated in every frame (:func:`~skelgraph.data.per_frame_edge_index`).
    ``x_line``, ``score``, ``edge_attr`` and node attributes such as ``body`` follow. Added: ``frame`` ``[N * T]`` (the
    frame of every node; with ``batch``, ``batch * T + frame`` groups the nodes of one frame of one sample, e.g.
    for ``global_mean_pool``), ``skeleton_node`` ``[N * T]`` (the node it copies) and ``frames_per_node``
    (``T``). Put it last, after every skelgraph transform.

    Example::

        data = PerFrameGraphs()(FixedLength(20)(to_data(seq, edges="bones")))
        h = GCNConv(3, 16)(data.x, data.edge_index)      # [N * T, 16]: every frame convolved on its own
        h = h.view(-1, 20, 16)                           # [N, T, 16]
    """

    def forward(self, data: Data) -> Data:
        N, T, C = data.x.shape
        timed = ("x", "x_line", "score")  # a time axis: node-major frames, not repeated
        node_keys = [k for k in data.keys() if k not in timed and data.is_node_attr(k)]
        data.x = data.x.reshape(N * T, C)
        if "x_line" in data:
            data.x_line = data.x_line.reshape(N * T, -1)
        if "score" in data:
            data.score = data.score.reshape(N * T, *data.score.shape[2:])
        for key in node_keys:
            data[key] = data[key].repeat_interleave(T, dim=0)
        if data.edge_index is not None:
            if data.edge_attr is not None:
                data.edge_attr = data.edge_attr.repeat_interleave(T, dim=0)
            data.edge_index = per_frame_edge_index(data.edge_index, T)
        data.frame = torch.arange(T).repeat(N)
        data.skeleton_node = torch.arange(N).repeat_interleave(T)
        data.frames_per_node = torch.tensor([T])
        data.num_nodes = N * T
        return data


class TimeToChannels(BaseTransform):
    """Move the frames into the channels, for stock PyG layers: ``x`` ``[N, T, C]`` -> ``[N, T * C]`` (channel
    ``t * C + c`` is channel ``c`` at frame ``t``; ``x_line`` likewise). The graph stays one skeleton graph whose
    nodes carry their whole trajectory, so any PyG layer and pooling applies as to any node-feature graph (e.g.
    ``GCNConv(T * 3, 64)`` then ``global_mean_pool``); ``T`` must be the same for every sample
    (:class:`FixedLength`). Put it last, after every skelgraph transform."""

    def forward(self, data: Data) -> Data:
        N, T, C = data.x.shape
        data.x = data.x.reshape(N, T * C)
        if "x_line" in data:
            data.x_line = data.x_line.reshape(N, -1)
        return data
