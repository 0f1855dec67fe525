"""Skeleton layouts: joint names, bones, body parts, centre joints and joint chains.

A :class:`Layout` describes the skeleton one sensor (or one dataset) delivers: the joint names in the order
the raw files store them, the bones between them, the five body parts of Du et al. (CVPR 2015) used by the
coarse attention stream of the two-stream GCA-LSTM, the joints whose mean is the body centre used to
normalise coordinates (ARRN-LSTM, Section 4.1), and the root from which the ST-LSTM tree traversal starts.

All derived structure (the networkx bone graph, the tree traversal chain, edge indices) is computed from the
bone list, never typed by hand, so a user-defined layout gets every feature for free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx
import torch

#: Names of the five body parts of Du et al. (2015), in part-index order.
BODY_PARTS: tuple[str, ...] = ("torso", "left_arm", "right_arm", "left_leg", "right_leg")


@dataclass(frozen=True)
class Layout:
    """One sensor's skeleton.

    Args:
        name: Short identifier, e.g. ``"ntu"``.
        joints: Joint names in file order (index ``j`` is the ``j``-th joint of a frame in the raw file).
        bones: Pairs of joint names; together they must form a tree spanning every joint.
        parts: For each entry of :data:`BODY_PARTS`, the joint names in that part. Every joint belongs to
            exactly one part.
        center: Joint names whose mean is the body centre (the joints around the hip).
        root: Joint the ST-LSTM tree traversal starts from (the spine).
        view: ``(hip, spine, left shoulder, right shoulder)`` joint names for view normalisation.
        up: The coordinate axis that points up in the raw data, with its sign: ``"+y"`` for Kinect camera and
            world coordinates, ``"-y"`` for image-like coordinates whose y grows downwards (SBU's normalised
            values, 2-D keypoints). Plots draw this axis upwards.
        ndim: Coordinates per joint: 3 for 3-D positions, 2 for image-plane keypoints.
    """

    name: str
    joints: tuple[str, ...]
    bones: tuple[tuple[str, str], ...]
    parts: dict[str, tuple[str, ...]] = field(hash=False)
    center: tuple[str, ...]
    root: str
    view: tuple[str, str, str, str]
    up: str = "+y"
    ndim: int = 3

    def __post_init__(self) -> None:
        if self.ndim not in (2, 3):
            raise ValueError(f"layout {self.name!r}: ndim must be 2 or 3, got {self.ndim}")
        axes = "xyz"[: self.ndim]
        if len(self.up) != 2 or self.up[0] not in "+-" or self.up[1] not in axes:
            raise ValueError(f"layout {self.name!r}: up must be a signed axis among {axes!r}, e.g. '+y' or '-y'; "
                             f"got {self.up!r}")
        index = {n: i for i, n in enumerate(self.joints)}
        if len(index) != len(self.joints):
            raise ValueError(f"layout {self.name!r}: joint names are not unique")
        named = [n for b in self.bones for n in b] + list(self.center) + [self.root, *self.view]
        named += [n for p in self.parts.values() for n in p]
        unknown = sorted(set(named) - set(index))
        if unknown:
            raise ValueError(f"layout {self.name!r}: unknown joint names {unknown}")
        if set(self.parts) != set(BODY_PARTS):
            raise ValueError(f"layout {self.name!r}: parts must be exactly {BODY_PARTS}, got {sorted(self.parts)}")
        in_parts = [n for p in self.parts.values() for n in p]
        if sorted(in_parts) != sorted(self.joints):
            raise ValueError(f"layout {self.name!r}: body parts must partition the joints")
        graph = self.graph
        if not nx.is_tree(graph):
            raise ValueError(f"layout {self.name!r}: bones must form a tree over all {self.num_joints} joints")

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
    def bone_index(self) -> torch.Tensor:
        """``[2, 2 * num_bones]`` edge index of the bones in both directions."""
        pairs = [(self.index(a), self.index(b)) for a, b in self.bones]
        src = [a for a, b in pairs] + [b for a, b in pairs]
        dst = [b for a, b in pairs] + [a for a, b in pairs]
        return torch.tensor([src, dst], dtype=torch.long)

    @cached_property
    def part_index(self) -> torch.Tensor:
        """``[num_joints]`` long tensor: the body part (index into :data:`BODY_PARTS`) of every joint."""
        out = torch.empty(self.num_joints, dtype=torch.long)
        for p, part in enumerate(BODY_PARTS):
            out[self.index(list(self.parts[part]))] = p
        return out

    @cached_property
    def center_index(self) -> torch.Tensor:
        """Indices of the centre joints (their mean is the body centre)."""
        return torch.tensor(self.index(list(self.center)), dtype=torch.long)

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


def _layout(
    name: str, joints: str, bones: str, parts: dict[str, str], center: str, root: str, view: str, up: str = "+y"
) -> Layout:
    """Build a layout from whitespace-separated name lists; bones are written ``a-b``."""
    return Layout(
        name=name,
        joints=tuple(joints.split()),
        bones=tuple(tuple(b.split("-")) for b in bones.split()),  # type: ignore[misc]
        parts={k: tuple(v.split()) for k, v in parts.items()},
        center=tuple(center.split()),
        root=root,
        view=tuple(view.split()),  # type: ignore[arg-type]
        up=up,
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

LAYOUTS: dict[str, Layout] = {
    layout.name: layout for layout in (NTU, KINECT_V1, MSR_ACTION3D, SBU, FLORENCE_3D)
}


def get_layout(layout: str | Layout) -> Layout:
    """Return a registered layout by name (``ntu``, ``kinect_v1``, ``msr_action3d``, ``sbu``, ``florence_3d``)."""
    if isinstance(layout, Layout):
        return layout
    try:
        return LAYOUTS[layout]
    except KeyError:
        raise ValueError(f"unknown layout {layout!r}; known: {sorted(LAYOUTS)}") from None
