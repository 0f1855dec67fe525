import json
import subprocess
import sys
from dataclasses import replace

import networkx as nx
import pytest
import torch

from skelgraph.skeleton import (
    BODY_PARTS,
    COCO17,
    LAYOUTS,
    MEDIAPIPE_HAND21,
    MEDIAPIPE_POSE33,
    NTU,
    OPENPOSE18,
    Layout,
    get_layout,
    load_layout,
    register_layout,
)


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_bones_form_spanning_tree(layout):
    g = layout.graph
    assert g.number_of_nodes() == layout.num_joints
    assert g.number_of_edges() == layout.num_joints - 1
    assert nx.is_tree(g)


WITH_PARTS = {k: v for k, v in LAYOUTS.items() if v.parts is not None}


@pytest.mark.parametrize("layout", WITH_PARTS.values(), ids=WITH_PARTS.keys())
def test_parts_partition_joints(layout):
    part = layout.part_index
    assert part.shape == (layout.num_joints,)
    assert set(part.tolist()) == set(range(len(BODY_PARTS)))
    for p, name in enumerate(BODY_PARTS):
        assert sorted((part == p).nonzero().view(-1).tolist()) == sorted(layout.index(list(layout.parts[name])))
    # Each part is a connected piece of the skeleton.
    for name in BODY_PARTS:
        assert nx.is_connected(layout.graph.subgraph(layout.index(list(layout.parts[name]))))


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
@pytest.mark.parametrize("root", [None, 0, -1])
def test_tree_traversal_visits_all_along_bones(layout, root):
    root_name = None if root is None else layout.joints[root]
    chain = layout.chain("tree", root=root_name).tolist()
    start = layout.index(root_name or layout.root)
    assert chain[0] == start and chain[-1] == start
    assert len(chain) == 2 * (layout.num_joints - 1) + 1
    assert set(chain) == set(range(layout.num_joints))
    for a, b in zip(chain, chain[1:]):
        assert layout.graph.has_edge(a, b), (layout.joints[a], layout.joints[b])
    # Every bone is walked exactly once in each direction.
    steps = list(zip(chain, chain[1:]))
    assert len(set(steps)) == len(steps) == 2 * (layout.num_joints - 1)


def test_ntu_traversal_starts_down_the_spine():
    chain = [NTU.joints[i] for i in NTU.chain()]
    assert chain[:3] == ["SpineMid", "SpineBase", "HipLeft"]


def test_simple_chain_is_file_order():
    assert NTU.chain("simple").tolist() == list(range(25))
    with pytest.raises(ValueError, match="chain kind"):
        NTU.chain("zigzag")


def test_bone_index_is_symmetric():
    ei = NTU.bone_index
    pairs = set(map(tuple, ei.T.tolist()))
    assert all((b, a) in pairs for a, b in pairs)
    assert ei.size(1) == 2 * 24


def test_centre_and_view_joints():
    assert [NTU.joints[i] for i in NTU.center_index] == list(NTU.center)
    assert len(NTU.center) == 5


def test_user_layout_and_errors():
    parts = {"torso": ("a",), "left_arm": ("b",), "right_arm": ("c",), "left_leg": ("d",), "right_leg": ("e",)}
    tiny = Layout("tiny", ("a", "b", "c", "d", "e"), (("a", "b"), ("a", "c"), ("a", "d"), ("a", "e")),
                  parts, ("a",), "a", ("a", "a", "b", "c"))
    assert tiny.chain().tolist() == [0, 1, 0, 2, 0, 3, 0, 4, 0]
    with pytest.raises(ValueError, match="tree"):
        Layout("cyc", ("a", "b", "c", "d", "e"), (("a", "b"), ("b", "c"), ("c", "a"), ("d", "e")),
               parts, ("a",), "a", ("a", "a", "b", "c"))
    with pytest.raises(ValueError, match="unknown joint"):
        Layout("bad", ("a", "b", "c", "d", "e"), (("a", "z"),), parts, ("a",), "a", ("a", "a", "b", "c"))
    with pytest.raises(ValueError, match="partition"):
        Layout("bad", ("a", "b", "c", "d", "e"), (("a", "b"), ("a", "c"), ("a", "d"), ("a", "e")),
               {**parts, "torso": ("a", "b")}, ("a",), "a", ("a", "a", "b", "c"))
    with pytest.raises(ValueError, match="up must be a signed axis"):
        Layout("bad", ("a", "b", "c", "d", "e"), (("a", "b"), ("a", "c"), ("a", "d"), ("a", "e")),
               parts, ("a",), "a", ("a", "a", "b", "c"), up="y")
    with pytest.raises(ValueError, match="up must be a signed axis"):  # a 2-D layout has no z
        Layout("bad", ("a", "b", "c", "d", "e"), (("a", "b"), ("a", "c"), ("a", "d"), ("a", "e")),
               parts, ("a",), "a", ("a", "a", "b", "c"), up="+z", ndim=2)
    with pytest.raises(ValueError, match="ndim"):
        Layout("bad", ("a", "b", "c", "d", "e"), (("a", "b"), ("a", "c"), ("a", "d"), ("a", "e")),
               parts, ("a",), "a", ("a", "a", "b", "c"), ndim=4)
    with pytest.raises(ValueError, match="unknown layout"):
        get_layout("nope")
    assert get_layout("ntu") is NTU
    assert isinstance(NTU.part_index, torch.Tensor)


def test_up_axis_and_dimensions():
    # Defaults keep existing constructors working: 3-D, y up.
    assert (NTU.up, NTU.up_axis, NTU.up_sign, NTU.ndim, NTU.front_axes) == ("+y", 1, 1, 3, (0, 1))
    sbu = get_layout("sbu")  # read in metres, y up (the files' normalised y grows downwards)
    assert (sbu.up, sbu.up_axis, sbu.up_sign) == ("+y", 1, 1)
    image_like = replace(sbu, name="sbu_image_like", up="-y")
    assert (image_like.up_axis, image_like.up_sign) == (1, -1) and "up='-y'" in repr(image_like)
    parts = {"torso": ("a",), "left_arm": ("b",), "right_arm": ("c",), "left_leg": ("d",), "right_leg": ("e",)}
    image = Layout("image2d", ("a", "b", "c", "d", "e"), (("a", "b"), ("a", "c"), ("a", "d"), ("a", "e")),
                   parts, ("a",), "a", ("a", "a", "b", "c"), up="-y", ndim=2)
    assert (image.ndim, image.front_axes, image.up_sign) == (2, (0, 1), -1)
    z_up = Layout("zup", ("a", "b", "c", "d", "e"), (("a", "b"), ("a", "c"), ("a", "d"), ("a", "e")),
                  parts, ("a",), "a", ("a", "a", "b", "c"), up="+z")
    assert z_up.front_axes == (0, 2)
    x_up = Layout("xup", ("a", "b", "c", "d", "e"), (("a", "b"), ("a", "c"), ("a", "d"), ("a", "e")),
                  parts, ("a",), "a", ("a", "a", "b", "c"), up="+x")
    assert x_up.front_axes == (1, 0)


def test_pose_estimator_layouts_follow_their_formats():
    """Joint order and the bones kept from each format's documented links (the rest would close cycles)."""
    for layout in (COCO17, OPENPOSE18, MEDIAPIPE_POSE33, MEDIAPIPE_HAND21):
        assert (layout.ndim, layout.up, layout.up_sign) == (2, "-y", -1), layout.name
        assert layout.view is None
    assert COCO17.joints[:5] == ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
    assert COCO17.joints[15:] == ("left_ankle", "right_ankle") and COCO17.num_joints == 17
    # COCO's documented links (1-based, from its annotation files); the tree keeps every limb and face link
    # that closes no cycle.
    coco_links = [(16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7), (6, 8), (7, 9),
                  (8, 10), (9, 11), (2, 3), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7)]
    bones = {frozenset(COCO17.index(list(b))) for b in COCO17.bones}
    kept = {frozenset((a - 1, b - 1)) for a, b in coco_links} & bones
    assert len(kept) == 14 and bones - kept == {frozenset((0, 5)), frozenset((0, 6))}  # shoulders to the nose
    assert OPENPOSE18.joints[:2] == ("Nose", "Neck") and OPENPOSE18.joints[-1] == "LEar"
    pairs = [1, 2, 1, 5, 2, 3, 3, 4, 5, 6, 6, 7, 1, 8, 8, 9, 9, 10, 1, 11, 11, 12, 12, 13, 1, 0, 0, 14, 14, 16,
             0, 15, 15, 17]  # OpenPose's POSE_COCO_PAIRS without the two ear-shoulder pairs
    documented = {frozenset(pairs[i : i + 2]) for i in range(0, len(pairs), 2)}
    assert {frozenset(OPENPOSE18.index(list(b))) for b in OPENPOSE18.bones} == documented
    assert MEDIAPIPE_POSE33.num_joints == 33 and MEDIAPIPE_POSE33.joints[32] == "right_foot_index"
    assert MEDIAPIPE_HAND21.num_joints == 21 and MEDIAPIPE_HAND21.joints[20] == "pinky_tip"
    assert MEDIAPIPE_HAND21.parts is None
    with pytest.raises(ValueError, match="has none"):
        _ = MEDIAPIPE_HAND21.part_index


def test_optional_fields_defaults_and_plain_data_round_trip():
    minimal = Layout("stick", ("a", "b", "c", "d"), (("a", "b"), ("b", "c"), ("c", "d")), ndim=2, up="-y")
    assert minimal.root in ("b", "c") and minimal.center_index.tolist() == [0, 1, 2, 3]
    assert minimal.parts is None and minimal.view is None
    for layout in [*LAYOUTS.values(), minimal]:
        data = json.loads(json.dumps(layout.to_dict()))  # plain JSON, as checkpoints keep it
        again = Layout.from_dict(data)
        assert again == layout and hash(again) == hash(layout) and get_layout(data) == layout
        assert again.chain().tolist() == layout.chain().tolist()
    with pytest.raises(ValueError, match="unknown layout field"):
        Layout.from_dict({**minimal.to_dict(), "colour": "red"})
    with pytest.raises(ValueError, match="needs the fields"):
        Layout.from_dict({"name": "x", "joints": ["a"]})
    with pytest.raises(ValueError, match="list of joint names"):
        Layout.from_dict({"name": "x", "joints": "ab", "bones": []})


def test_register_and_load_layouts(tmp_path):
    mine = Layout("test_register_mine", ("a", "b", "c"), (("a", "b"), ("b", "c")), ndim=2)
    try:
        assert register_layout(mine) is mine and get_layout("test_register_mine") is mine
        assert register_layout(mine) is mine  # the same layout again is fine
        other = Layout("test_register_mine", ("a", "b"), (("a", "b"),))
        with pytest.raises(ValueError, match="different layout"):
            register_layout(other)
        assert register_layout(other, replace=True) is other
    finally:
        LAYOUTS.pop("test_register_mine", None)
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(mine.to_dict()))
    assert load_layout(path) == mine and load_layout("coco17") is COCO17
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not a layout JSON"):
        load_layout(path)
    with pytest.raises(FileNotFoundError):
        load_layout(tmp_path / "missing.json")


@pytest.mark.slow
def test_builtin_layouts_listed_by_the_module_command():
    out = subprocess.run([sys.executable, "-m", "skelgraph"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "coco17" in out.stdout and "mediapipe_hand21" in out.stdout
