"""skelgraph: skeleton-based action recognition on PyTorch Geometric (ARRN-LSTM, ST-LSTM, GCA-LSTM)."""

from skelgraph.data import SkeletonSequence, line_features, node_line_features, to_data, to_skeletons
from skelgraph.skeleton import BODY_PARTS, LAYOUTS, Layout, get_layout, load_layout, register_layout

__version__ = "0.1.0"

__all__ = [
    "BODY_PARTS",
    "LAYOUTS",
    "Layout",
    "SkeletonSequence",
    "get_layout",
    "load_layout",
    "register_layout",
    "line_features",
    "node_line_features",
    "to_data",
    "to_skeletons",
]
