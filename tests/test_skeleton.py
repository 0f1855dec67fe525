from dataclasses import replace

import networkx as nx
import pytest
import torch

from skelgraph.skeleton import BODY_PARTS, LAYOUTS, NTU, Layout, get_layout


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_bones_form_spanning_tree(layout):
    g = layout.graph
    assert g.number_of_nodes() == layout.num_joints
    assert g.number_of_edges() == layout.num_joints - 1
    assert nx.is_tree(g)


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
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
