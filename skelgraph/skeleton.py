"""Skeleton layouts: joint names, bones, body parts, centre joints and joint chains.

A :class:`Layout` describes the skeleton one sensor, pose estimator or dataset delivers: the joint names in the
order the raw files store them, the bones between them, and, where a model or transform needs them, the five body
parts of Du et al. (CVPR 2015) used by the coarse attention stream of the two-stream GCA-LSTM, the joints whose
mean is the body centre used to normalise coordinates (ARRN-LSTM, Section 4.1), the joints of the view
normalisation, and the root from which the ST-LSTM tree traversal starts.

All derived structure (the networkx bone graph, the tree traversal chain, edge indices) is computed from the
bone list, never typed by hand, so a user-defined layout gets every feature for free. Built in: the 3-D sensor
layouts of the papers' datasets (``ntu``, ``kinect_v1``, ``msr_action3d``, ``sbu``, ``florence_3d``) and the 2-D
keypoint layouts of the common pose estimators (``coco17``, ``openpose18``, ``mediapipe_pose33``,
``mediapipe_hand21``). :func:`register_layout` adds your own under its name; a layout also travels as plain data
(:meth:`Layout.to_dict` / :meth:`Layout.from_dict`), which is how checkpoints store it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import networkx as nx
import torch

#: Names of the five body parts of Du et al. (2015), in part-index order.
BODY_PARTS: tuple[str, ...] = ("torso", "left_arm", "right_arm", "left_leg", "right_leg")
#: The fields of :meth:`Layout.to_dict`, in order.
LAYOUT_FIELDS: tuple[str, ...] = ("name", "joints", "bones", "parts", "center", "root", "view", "up", "ndim")


@dataclass(frozen=True)
class Layout:
    """One sensor's or pose estimator's skeleton.

    Only ``name``, ``joints`` and ``bones`` are required; the other fields serve particular models and
    transforms, which say so when a layout lacks what they need.

    Args:
        name: Short identifier, e.g. ``"ntu"``.
        joints: Joint names in file order (index ``j`` is the ``j``-th joint of a frame in the raw file).
        bones: Pairs of joint names; together they must form a tree spanning every joint (the ST-LSTM walks it).
        parts: For each entry of :data:`BODY_PARTS`, the joint names in that part; every joint belongs to exactly
            one part. Needed by the body-part stream of :class:`~skelgraph.nn.TwoStreamGCALSTM`; ``None`` for
            skeletons without a body (a hand).
        center: Joint names whose mean is the body centre (the joints around the hip), used by
            :class:`~skelgraph.transforms.CenterJoints`; ``None``: every joint.
        root: Joint the ST-LSTM tree traversal starts from (the spine); ``None``: a centre of the bone tree (a
            joint with the fewest bones to the farthest joint, the first in file order).
        view: ``(hip, spine, left shoulder, right shoulder)`` joint names for
            :class:`~skelgraph.transforms.ViewNormalize`; ``None`` where the skeleton has no such joints.
        up: The coordinate axis that points up in the raw data, with its sign: ``"+y"`` for Kinect camera and
            world coordinates, ``"-y"`` for image-like coordinates whose y grows downwards (2-D keypoints).
            Plots draw this axis upwards.
        ndim: Coordinates per joint: 3 for 3-D positions, 2 for image-plane keypoints. Sequences in this layout
            carry exactly ``ndim`` coordinates per joint (a confidence score is kept apart, see
            :class:`~skelgraph.data.SkeletonSequence`).
    """

    name: str
    joints: tuple[str, ...]
    bones: tuple[tuple[str, str], ...]
    parts: dict[str, tuple[str, ...]] | None = field(default=None, hash=False)
    center: tuple[str, ...] | None = None
    root: str | None = None
    view: tuple[str, str, str, str] | None = None
    up: str = "+y"
    ndim: int = 3

    def __post_init__(self) -> None:
        # Lists (from JSON or a checkpoint) become tuples, so that layouts compare and hash by value.
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"layout name must be a non-empty string, got {self.name!r}")
        _set = object.__setattr__
        _set(self, "joints", _names(self.joints, f"layout {self.name!r}: joints"))
        bones = tuple(_names(b, f"layout {self.name!r}: bone") for b in _sequence(self.bones, "bones", self.name))
        if any(len(b) != 2 for b in bones):
            raise ValueError(f"layout {self.name!r}: every bone is a pair of joint names")
        _set(self, "bones", bones)
        if self.parts is not None:
            if not isinstance(self.parts, Mapping):
                raise ValueError(f"layout {self.name!r}: parts must map part names to joint names")
            _set(self, "parts", {str(k): _names(v, f"layout {self.name!r}: part {k!r}") for k, v in self.parts.items()})
        if self.center is not None:
            _set(self, "center", _names(self.center, f"layout {self.name!r}: center"))
        if self.view is not None:
            view = _names(self.view, f"layout {self.name!r}: view")
            if len(view) != 4:
                raise ValueError(f"layout {self.name!r}: view names 4 joints (hip, spine, left shoulder, right "
                                 f"shoulder), got {len(view)}")
            _set(self, "view", view)
        if self.ndim not in (2, 3) or isinstance(self.ndim, bool):
            raise ValueError(f"layout {self.name!r}: ndim must be 2 or 3, got {self.ndim}")
        axes = "xyz"[: self.ndim]
        if not isinstance(self.up, str) or len(self.up) != 2 or self.up[0] not in "+-" or self.up[1] not in axes:
            raise ValueError(f"layout {self.name!r}: up must be a signed axis among {axes!r}, e.g. '+y' or '-y'; "
                             f"got {self.up!r}")
        index = {n: i for i, n in enumerate(self.joints)}
        if len(index) != len(self.joints):
            raise ValueError(f"layout {self.name!r}: joint names are not unique")
        if not self.joints:
            raise ValueError(f"layout {self.name!r}: no joints")
        named = [n for b in self.bones for n in b] + list(self.center or ()) + list(self.view or ())
        named += [self.root] if self.root is not None else []
        named += [n for p in (self.parts or {}).values() for n in p]
        unknown = sorted(set(named) - set(index))
        if unknown:
            raise ValueError(f"layout {self.name!r}: unknown joint names {unknown}")
        if self.parts is not None:
            if set(self.parts) != set(BODY_PARTS):
                raise ValueError(f"layout {self.name!r}: parts must be exactly {BODY_PARTS}, got {sorted(self.parts)}")
            in_parts = [n for p in self.parts.values() for n in p]
            if sorted(in_parts) != sorted(self.joints):
                raise ValueError(f"layout {self.name!r}: body parts must partition the joints")
        if self.center is not None and not self.center:
            raise ValueError(f"layout {self.name!r}: center names no joint (None means every joint)")
        graph = self.graph
        if not nx.is_tree(graph):
            raise ValueError(f"layout {self.name!r}: bones must form a tree over all {self.num_joints} joints")
        if self.root is None:
            _set(self, "root", self.joints[min(nx.center(graph))])

    # ------------------------------------------------------------------------------------------ plain data
    def to_dict(self) -> dict[str, Any]:
        """The layout as plain JSON-able data (lists, strings, an integer): what checkpoints store."""
        return {
            "name": self.name,
            "joints": list(self.joints),
            "bones": [list(b) for b in self.bones],
            "parts": {k: list(v) for k, v in self.parts.items()} if self.parts is not None else None,
            "center": list(self.center) if self.center is not None else None,
            "root": self.root,
            "view": list(self.view) if self.view is not None else None,
            "up": self.up,
            "ndim": self.ndim,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Layout:
        """Inverse of :meth:`to_dict` (also reads a hand-written JSON object with only some optional fields).

        Raises:
            ValueError: not a mapping, unknown or missing fields, or a field of the wrong kind.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"a layout is a mapping of {LAYOUT_FIELDS}, got {type(data).__name__}")
        unknown = sorted(set(data) - set(LAYOUT_FIELDS))
        if unknown:
            raise ValueError(f"unknown layout field(s) {unknown}; known: {list(LAYOUT_FIELDS)}")
        missing = [k for k in ("name", "joints", "bones") if k not in data]
        if missing:
            raise ValueError(f"a layout needs the fields {missing}")
        return cls(**dict(data))

    # ------------------------------------------------------------------------------------------ derived
    @property
    def num_joints(self) -> int:
        return len(self.joints)

    @property
    def up_axis(self) -> int:
        """Index of the coordinate that points up (0, 1 or 2)."""
        return "xyz".index(self.up[1])

    @property
    def up_sign(self) -> int:
        """``+1`` when the up coordinate grows upwards, ``-1`` when it grows downwards."""
        return 1 if self.up[0] == "+" else -1

    @property
    def front_axes(self) -> tuple[int, int]:
        """``(horizontal, vertical)`` coordinate indices of a front view: the up axis and the first other axis
        (x, or y when x points up); depth is left out."""
        return (0 if self.up_axis != 0 else 1), self.up_axis

    def index(self, names: str | Sequence[str]) -> int | list[int]:
        """File-order index of one joint name, or a list of indices for several."""
        lookup = {n: i for i, n in enumerate(self.joints)}
        if isinstance(names, str):
            return lookup[names]
        return [lookup[n] for n in names]

    @cached_property
    def graph(self) -> nx.Graph:
        """Undirected bone graph; nodes are joint indices, node attribute ``name``."""
        g = nx.Graph()
        g.add_nodes_from((i, {"name": n}) for i, n in enumerate(self.joints))
        g.add_edges_from((self.index(a), self.index(b)) for a, b in self.bones)
        return g

    @cached_property
    def bone_pairs(self) -> tuple[tuple[int, int], ...]:
        """The bones as pairs of joint indices, in the order of :attr:`bones`."""
        return tuple((self.index(a), self.index(b)) for a, b in self.bones)

    @cached_property
    def bone_index(self) -> torch.Tensor:
        """``[2, 2 * num_bones]`` edge index of the bones in both directions."""
        pairs = self.bone_pairs
        src = [a for a, b in pairs] + [b for a, b in pairs]
        dst = [b for a, b in pairs] + [a for a, b in pairs]
        return torch.tensor([src, dst], dtype=torch.long)

    @cached_property
    def part_index(self) -> torch.Tensor:
        """``[num_joints]`` long tensor: the body part (index into :data:`BODY_PARTS`) of every joint.

        Raises:
            ValueError: the layout has no body parts.
        """
        parts = self.require("parts", "body-part pooling (the coarse stream of TwoStreamGCALSTM)")
        out = torch.empty(self.num_joints, dtype=torch.long)
        for p, part in enumerate(BODY_PARTS):
            out[self.index(list(parts[part]))] = p
        return out

    @cached_property
    def center_index(self) -> torch.Tensor:
        """Indices of the centre joints (their mean is the body centre; every joint without ``center``)."""
        if self.center is None:
            return torch.arange(self.num_joints)
        return torch.tensor(self.index(list(self.center)), dtype=torch.long)

    def require(self, name: str, user: str) -> Any:
        """The optional field ``name`` (``"parts"`` or ``"view"``), or a ``ValueError`` saying that ``user``
        needs it and how to give it."""
        value = getattr(self, name)
        if value is None:
            how = {"parts": f"a dict of the joint names of each of {BODY_PARTS}",
                   "view": "(hip, spine, left shoulder, right shoulder) joint names"}[name]
            raise ValueError(f"{user} needs the layout's {name}, and layout {self.name!r} has none; build a layout "
                             f"with {name}= {how} (dataclasses.replace(layout, {name}=...), then register_layout)")
        return value

    def chain(self, kind: str = "tree", root: str | None = None) -> torch.Tensor:
        """Order in which the ST-LSTM visits the joints of a frame.

        ``kind="tree"`` is the tree traversal of Liu et al. (ECCV 2016): a depth-first walk of the bone tree
        from ``root`` (default: the layout's spine joint) that walks back along every bone after finishing
        its subtree, so consecutive entries are always joined by a bone and every joint appears at least
        once; its length is ``2 * (J - 1) + 1``. Children are visited in file order. ``kind="simple"`` is the
        joints in file order.
        """
        if kind == "simple":
            return torch.arange(self.num_joints)
        if kind != "tree":
            raise ValueError(f"unknown chain kind {kind!r}; expected 'tree' or 'simple'")
        start = self.index(root if root is not None else self.root)
        walk = [start]
        # networkx walks neighbours in insertion order: add the edges sorted so children come in file order.
        ordered = nx.Graph()
        ordered.add_nodes_from(range(self.num_joints))
        ordered.add_edges_from(sorted(tuple(sorted(e)) for e in self.graph.edges))
        # An Euler tour: networkx reports each tree edge forward on entry and reverse on leaving.
        for u, v, direction in nx.dfs_labeled_edges(ordered, source=start):
            if u == v:
                continue
            if direction == "forward":
                walk.append(v)
            elif direction == "reverse":
                walk.append(u)
        return torch.tensor(walk, dtype=torch.long)

    def __repr__(self) -> str:
        return (f"Layout({self.name!r}, joints={self.num_joints}, bones={len(self.bones)}, up={self.up!r}, "
                f"ndim={self.ndim})")


def _names(value: Any, what: str) -> tuple[str, ...]:
    """``value`` as a tuple of joint names (a list from JSON is fine), or a ``ValueError`` naming ``what``."""
    if isinstance(value, str) or not isinstance(value, Sequence) or not all(isinstance(n, str) for n in value):
        raise ValueError(f"{what} must be a list of joint names, got {value!r:.80}")
    return tuple(value)


def _sequence(value: Any, what: str, name: str) -> Sequence[Any]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f"layout {name!r}: {what} must be a list, got {type(value).__name__}")
    return value


def _layout(
    name: str, joints: str, bones: str, parts: dict[str, str] | None, center: str, root: str,
    view: str | None, up: str = "+y", ndim: int = 3,
) -> Layout:
    """Build a layout from whitespace-separated name lists; bones are written ``a-b``."""
    return Layout(
        name=name,
        joints=tuple(joints.split()),
        bones=tuple(tuple(b.split("-")) for b in bones.split()),  # type: ignore[misc]
        parts={k: tuple(v.split()) for k, v in parts.items()} if parts is not None else None,
        center=tuple(center.split()),
        root=root,
        view=tuple(view.split()) if view is not None else None,  # type: ignore[arg-type]
        up=up,
        ndim=ndim,
    )


#: NTU RGB+D 60/120 and any Kinect v2 recording: 25 joints, Kinect v2 SDK ``JointType`` order.
NTU = _layout(
    "ntu",
    joints="""SpineBase SpineMid Neck Head ShoulderLeft ElbowLeft WristLeft HandLeft ShoulderRight ElbowRight
    WristRight HandRight HipLeft KneeLeft AnkleLeft FootLeft HipRight KneeRight AnkleRight FootRight
    SpineShoulder HandTipLeft ThumbLeft HandTipRight ThumbRight""",
    bones="""SpineBase-SpineMid SpineMid-SpineShoulder SpineShoulder-Neck Neck-Head
    SpineShoulder-ShoulderLeft ShoulderLeft-ElbowLeft ElbowLeft-WristLeft WristLeft-HandLeft
    HandLeft-HandTipLeft WristLeft-ThumbLeft
    SpineShoulder-ShoulderRight ShoulderRight-ElbowRight ElbowRight-WristRight WristRight-HandRight
    HandRight-HandTipRight WristRight-ThumbRight
    SpineBase-HipLeft HipLeft-KneeLeft KneeLeft-AnkleLeft AnkleLeft-FootLeft
    SpineBase-HipRight HipRight-KneeRight KneeRight-AnkleRight AnkleRight-FootRight""",
    parts={
        "torso": "SpineBase SpineMid Neck Head SpineShoulder",
        "left_arm": "ShoulderLeft ElbowLeft WristLeft HandLeft HandTipLeft ThumbLeft",
        "right_arm": "ShoulderRight ElbowRight WristRight HandRight HandTipRight ThumbRight",
        "left_leg": "HipLeft KneeLeft AnkleLeft FootLeft",
        "right_leg": "HipRight KneeRight AnkleRight FootRight",
    },
    center="SpineBase SpineMid HipLeft HipRight SpineShoulder",
    root="SpineMid",
    view="SpineBase SpineMid ShoulderLeft ShoulderRight",
)

#: Kinect v1 SDK ``NUI_SKELETON_POSITION_INDEX`` order (20 joints): UTKinect-Action3D, SYSU-3D.
KINECT_V1 = _layout(
    "kinect_v1",
    joints="""HipCenter Spine ShoulderCenter Head ShoulderLeft ElbowLeft WristLeft HandLeft ShoulderRight
    ElbowRight WristRight HandRight HipLeft KneeLeft AnkleLeft FootLeft HipRight KneeRight AnkleRight FootRight""",
    bones="""HipCenter-Spine Spine-ShoulderCenter ShoulderCenter-Head
    ShoulderCenter-ShoulderLeft ShoulderLeft-ElbowLeft ElbowLeft-WristLeft WristLeft-HandLeft
    ShoulderCenter-ShoulderRight ShoulderRight-ElbowRight ElbowRight-WristRight WristRight-HandRight
    HipCenter-HipLeft HipLeft-KneeLeft KneeLeft-AnkleLeft AnkleLeft-FootLeft
    HipCenter-HipRight HipRight-KneeRight KneeRight-AnkleRight AnkleRight-FootRight""",
    parts={
        "torso": "HipCenter Spine ShoulderCenter Head",
        "left_arm": "ShoulderLeft ElbowLeft WristLeft HandLeft",
        "right_arm": "ShoulderRight ElbowRight WristRight HandRight",
        "left_leg": "HipLeft KneeLeft AnkleLeft FootLeft",
        "right_leg": "HipRight KneeRight AnkleRight FootRight",
    },
    center="HipCenter Spine HipLeft HipRight ShoulderCenter",
    root="Spine",
    view="HipCenter Spine ShoulderLeft ShoulderRight",
)

#: MSR Action3D world coordinates: the same 20 Kinect v1 joints in the dataset's own order
#: (its ``drawskt.m`` bone list; see ``datasets/msr_action3d/SOURCE.md``).
MSR_ACTION3D = _layout(
    "msr_action3d",
    joints="""ShoulderLeft ShoulderRight ShoulderCenter Spine HipLeft HipRight HipCenter ElbowLeft ElbowRight
    WristLeft WristRight HandLeft HandRight KneeLeft KneeRight AnkleLeft AnkleRight FootLeft FootRight Head""",
    bones="""Head-ShoulderCenter ShoulderLeft-ShoulderCenter ShoulderRight-ShoulderCenter ShoulderLeft-ElbowLeft
    ElbowLeft-WristLeft WristLeft-HandLeft ShoulderRight-ElbowRight ElbowRight-WristRight WristRight-HandRight
    ShoulderCenter-Spine Spine-HipCenter HipCenter-HipLeft HipCenter-HipRight HipLeft-KneeLeft HipRight-KneeRight
    KneeLeft-AnkleLeft KneeRight-AnkleRight AnkleLeft-FootLeft AnkleRight-FootRight""",
    parts={k: " ".join(v) for k, v in KINECT_V1.parts.items()},
    center="HipCenter Spine HipLeft HipRight ShoulderCenter",
    root="Spine",
    view="HipCenter Spine ShoulderLeft ShoulderRight",
)

#: OpenNI / NITE 15-joint skeleton as stored by SBU Kinect Interaction.
SBU = _layout(
    "sbu",
    joints="""Head Neck Torso ShoulderLeft ElbowLeft HandLeft ShoulderRight ElbowRight HandRight HipLeft KneeLeft
    FootLeft HipRight KneeRight FootRight""",
    bones="""Head-Neck Neck-Torso Neck-ShoulderLeft ShoulderLeft-ElbowLeft ElbowLeft-HandLeft Neck-ShoulderRight
    ShoulderRight-ElbowRight ElbowRight-HandRight Torso-HipLeft HipLeft-KneeLeft KneeLeft-FootLeft Torso-HipRight
    HipRight-KneeRight KneeRight-FootRight""",
    parts={
        "torso": "Head Neck Torso",
        "left_arm": "ShoulderLeft ElbowLeft HandLeft",
        "right_arm": "ShoulderRight ElbowRight HandRight",
        "left_leg": "HipLeft KneeLeft FootLeft",
        "right_leg": "HipRight KneeRight FootRight",
    },
    center="Torso HipLeft HipRight Neck",
    root="Torso",
    view="Torso Neck ShoulderLeft ShoulderRight",
)

#: Florence 3D Actions world coordinates (15 joints, order of the dataset README).
FLORENCE_3D = _layout(
    "florence_3d",
    joints="""Head Neck Spine ShoulderLeft ElbowLeft WristLeft ShoulderRight ElbowRight WristRight HipLeft KneeLeft
    AnkleLeft HipRight KneeRight AnkleRight""",
    bones="""Head-Neck Neck-Spine Neck-ShoulderLeft ShoulderLeft-ElbowLeft ElbowLeft-WristLeft Neck-ShoulderRight
    ShoulderRight-ElbowRight ElbowRight-WristRight Spine-HipLeft HipLeft-KneeLeft KneeLeft-AnkleLeft Spine-HipRight
    HipRight-KneeRight KneeRight-AnkleRight""",
    parts={
        "torso": "Head Neck Spine",
        "left_arm": "ShoulderLeft ElbowLeft WristLeft",
        "right_arm": "ShoulderRight ElbowRight WristRight",
        "left_leg": "HipLeft KneeLeft AnkleLeft",
        "right_leg": "HipRight KneeRight AnkleRight",
    },
    center="Spine HipLeft HipRight Neck",
    root="Spine",
    view="Spine Neck ShoulderLeft ShoulderRight",
)

# ---------------------------------------------------------------------------------------- 2-D pose estimators
# Image coordinates: x to the right, y downwards (``up="-y"``), in pixels or normalised to the image. The formats
# draw a few extra links that close cycles (the torso quadrilateral, the face triangle, the palm); the ST-LSTM
# needs a tree, so each layout keeps a spanning tree of the documented links, and says which links differ.

#: COCO-17 keypoints (COCO keypoint task; MMPose, Detectron2, YOLO-pose, PYSKL's 2-D annotations), in COCO's
#: order. COCO draws 19 links with cycles; the bones are the tree the skeleton-action toolkits use for COCO (the
#: ST-GCN / PYSKL ``coco`` graph): COCO's limb and face links without the shoulder-shoulder, hip-hip, eye-eye and
#: ear-shoulder links, the shoulders joined to the nose.
COCO17 = _layout(
    "coco17",
    joints="""nose left_eye right_eye left_ear right_ear left_shoulder right_shoulder left_elbow right_elbow
    left_wrist right_wrist left_hip right_hip left_knee right_knee left_ankle right_ankle""",
    bones="""left_ankle-left_knee left_knee-left_hip right_ankle-right_knee right_knee-right_hip
    left_hip-left_shoulder right_hip-right_shoulder left_wrist-left_elbow left_elbow-left_shoulder
    right_wrist-right_elbow right_elbow-right_shoulder left_shoulder-nose right_shoulder-nose
    left_eye-nose left_ear-left_eye right_eye-nose right_ear-right_eye""",
    parts={
        "torso": "nose left_eye right_eye left_ear right_ear",
        "left_arm": "left_shoulder left_elbow left_wrist",
        "right_arm": "right_shoulder right_elbow right_wrist",
        "left_leg": "left_hip left_knee left_ankle",
        "right_leg": "right_hip right_knee right_ankle",
    },
    center="left_hip right_hip left_shoulder right_shoulder",
    root="nose",
    view=None,
    up="-y",
    ndim=2,
)

#: OpenPose's 18-keypoint COCO body model (``POSE_COCO_BODY_PARTS``, OpenPose's output documentation), names
#: and order as OpenPose writes them. Bones: OpenPose's ``POSE_COCO_PAIRS`` without the two ear-shoulder pairs,
#: which only serve the part-affinity fields and close cycles.
OPENPOSE18 = _layout(
    "openpose18",
    joints="""Nose Neck RShoulder RElbow RWrist LShoulder LElbow LWrist RHip RKnee RAnkle LHip LKnee LAnkle REye
    LEye REar LEar""",
    bones="""Neck-RShoulder Neck-LShoulder RShoulder-RElbow RElbow-RWrist LShoulder-LElbow LElbow-LWrist
    Neck-RHip RHip-RKnee RKnee-RAnkle Neck-LHip LHip-LKnee LKnee-LAnkle Neck-Nose Nose-REye REye-REar
    Nose-LEye LEye-LEar""",
    parts={
        "torso": "Nose Neck REye LEye REar LEar",
        "left_arm": "LShoulder LElbow LWrist",
        "right_arm": "RShoulder RElbow RWrist",
        "left_leg": "LHip LKnee LAnkle",
        "right_leg": "RHip RKnee RAnkle",
    },
    center="Neck RHip LHip",
    root="Neck",
    view=None,
    up="-y",
    ndim=2,
)

#: MediaPipe Pose's 33 landmarks (BlazePose), names and order of its documentation. Bones: its
#: ``POSE_CONNECTIONS`` without the links that close cycles (shoulder-shoulder, hip-hip, pinky-index,
#: ankle-foot index), and, as in the COCO tree, the shoulders and the mouth joined to the nose (MediaPipe draws
#: the face apart from the body). MediaPipe also gives a relative depth z: for x, y, z register a 3-D copy,
#: ``register_layout(dataclasses.replace(MEDIAPIPE_POSE33, name="mediapipe_pose33_3d", ndim=3))``.
MEDIAPIPE_POSE33 = _layout(
    "mediapipe_pose33",
    joints="""nose left_eye_inner left_eye left_eye_outer right_eye_inner right_eye right_eye_outer left_ear
    right_ear mouth_left mouth_right left_shoulder right_shoulder left_elbow right_elbow left_wrist right_wrist
    left_pinky right_pinky left_index right_index left_thumb right_thumb left_hip right_hip left_knee right_knee
    left_ankle right_ankle left_heel right_heel left_foot_index right_foot_index""",
    bones="""nose-left_eye_inner left_eye_inner-left_eye left_eye-left_eye_outer left_eye_outer-left_ear
    nose-right_eye_inner right_eye_inner-right_eye right_eye-right_eye_outer right_eye_outer-right_ear
    mouth_left-mouth_right nose-mouth_left
    left_shoulder-left_elbow left_elbow-left_wrist left_wrist-left_pinky left_wrist-left_index left_wrist-left_thumb
    right_shoulder-right_elbow right_elbow-right_wrist right_wrist-right_pinky right_wrist-right_index
    right_wrist-right_thumb nose-left_shoulder nose-right_shoulder left_shoulder-left_hip right_shoulder-right_hip
    left_hip-left_knee left_knee-left_ankle left_ankle-left_heel left_heel-left_foot_index
    right_hip-right_knee right_knee-right_ankle right_ankle-right_heel right_heel-right_foot_index""",
    parts={
        "torso": """nose left_eye_inner left_eye left_eye_outer right_eye_inner right_eye right_eye_outer left_ear
        right_ear mouth_left mouth_right""",
        "left_arm": "left_shoulder left_elbow left_wrist left_pinky left_index left_thumb",
        "right_arm": "right_shoulder right_elbow right_wrist right_pinky right_index right_thumb",
        "left_leg": "left_hip left_knee left_ankle left_heel left_foot_index",
        "right_leg": "right_hip right_knee right_ankle right_heel right_foot_index",
    },
    center="left_hip right_hip left_shoulder right_shoulder",
    root="nose",
    view=None,
    up="-y",
    ndim=2,
)

#: MediaPipe Hands' 21 landmarks, names and order of its documentation. Bones: its ``HAND_CONNECTIONS`` with
#: the palm drawn as the metacarpals (wrist to every finger base) instead of the index-middle-ring-pinky links,
#: which close a cycle. A hand has no body parts (the two-stream GCA-LSTM's coarse stream does not apply).
MEDIAPIPE_HAND21 = _layout(
    "mediapipe_hand21",
    joints="""wrist thumb_cmc thumb_mcp thumb_ip thumb_tip index_finger_mcp index_finger_pip index_finger_dip
    index_finger_tip middle_finger_mcp middle_finger_pip middle_finger_dip middle_finger_tip ring_finger_mcp
    ring_finger_pip ring_finger_dip ring_finger_tip pinky_mcp pinky_pip pinky_dip pinky_tip""",
    bones="""wrist-thumb_cmc thumb_cmc-thumb_mcp thumb_mcp-thumb_ip thumb_ip-thumb_tip
    wrist-index_finger_mcp index_finger_mcp-index_finger_pip index_finger_pip-index_finger_dip
    index_finger_dip-index_finger_tip wrist-middle_finger_mcp middle_finger_mcp-middle_finger_pip
    middle_finger_pip-middle_finger_dip middle_finger_dip-middle_finger_tip wrist-ring_finger_mcp
    ring_finger_mcp-ring_finger_pip ring_finger_pip-ring_finger_dip ring_finger_dip-ring_finger_tip
    wrist-pinky_mcp pinky_mcp-pinky_pip pinky_pip-pinky_dip pinky_dip-pinky_tip""",
    parts=None,
    center="wrist index_finger_mcp middle_finger_mcp ring_finger_mcp pinky_mcp",
    root="wrist",
    view=None,
    up="-y",
    ndim=2,
)

#: Every registered layout by name: the built-in ones and those added with :func:`register_layout`.
LAYOUTS: dict[str, Layout] = {
    layout.name: layout for layout in (NTU, KINECT_V1, MSR_ACTION3D, SBU, FLORENCE_3D, COCO17, OPENPOSE18,
                                       MEDIAPIPE_POSE33, MEDIAPIPE_HAND21)
}


def register_layout(layout: Layout, *, replace: bool = False) -> Layout:
    """Make ``layout`` known by its name to :func:`get_layout` (and so to ``--layout NAME`` of the commands).

    Registering is only needed to refer to a layout by name: checkpoints store the whole layout, so a model
    trained on any layout is evaluated and applied without it.

    Raises:
        ValueError: another layout is registered under that name (``replace=True`` replaces it).
    """
    if not isinstance(layout, Layout):
        raise TypeError(f"register_layout expects a Layout, got {type(layout).__name__}")
    known = LAYOUTS.get(layout.name)
    if known is not None and known != layout and not replace:
        raise ValueError(f"a different layout is registered as {layout.name!r}; pick another name or pass "
                         "replace=True")
    LAYOUTS[layout.name] = layout
    return layout


def get_layout(layout: str | Layout | Mapping[str, Any]) -> Layout:
    """A layout: a :class:`Layout` as is, one of :meth:`Layout.to_dict` (as checkpoints store it), or a
    registered name (``ntu``, ``kinect_v1``, ``msr_action3d``, ``sbu``, ``florence_3d``, ``coco17``,
    ``openpose18``, ``mediapipe_pose33``, ``mediapipe_hand21`` and any added with :func:`register_layout`)."""
    if isinstance(layout, Layout):
        return layout
    if isinstance(layout, Mapping):
        return Layout.from_dict(layout)
    try:
        return LAYOUTS[layout]
    except (KeyError, TypeError):
        raise ValueError(f"unknown layout {layout!r}; known: {sorted(LAYOUTS)} (or a layout JSON file, or "
                         "register_layout)") from None


def load_layout(name_or_path: str | os.PathLike) -> Layout:
    """A registered layout by name, or a layout read from a JSON file holding :meth:`Layout.to_dict`'s fields
    (``name``, ``joints``, ``bones`` and any optional ones): what ``--layout`` of the commands accepts."""
    text = str(name_or_path)
    if text in LAYOUTS:
        return LAYOUTS[text]
    path = Path(text)
    if path.suffix.lower() == ".json" or path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(f"no layout file {path}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"{path}: not a layout JSON file ({err})") from None
        try:
            return Layout.from_dict(data)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{path}: {err}") from None
    return get_layout(text)
