"""Layers and models: RRN / ARRN-LSTM and ST-LSTM / GCA-LSTM.

Layers drop into any PyG model: :class:`RRN` is a ``MessagePassing`` layer on any ``edge_index`` (with a
complete-graph fast path), :class:`STLSTM` runs over any ``[S, L, T, C]`` chain x frame grid, and
:func:`part_mean` / :class:`BodyPartPool` pool joints into body parts with scatter operations.
"""

from skelgraph.nn.arrn import ARRNLSTM, ARRNConfig, ARRNStream, fuse_scores, select_alpha
from skelgraph.nn.gca_lstm import (
    GCALSTM,
    AttentionStream,
    InformativenessScore,
    STLSTMClassifier,
    TwoStreamGCALSTM,
)
from skelgraph.nn.pooling import BodyPartPool, part_mean
from skelgraph.nn.rrn import RRN
from skelgraph.nn.st_lstm import STLSTM, STLSTMEncoder, flush_denormals, gather_chain, wavefront_plan

__all__ = [
    "ARRNLSTM",
    "ARRNConfig",
    "ARRNStream",
    "AttentionStream",
    "BodyPartPool",
    "GCALSTM",
    "InformativenessScore",
    "RRN",
    "STLSTM",
    "STLSTMClassifier",
    "STLSTMEncoder",
    "TwoStreamGCALSTM",
    "flush_denormals",
    "fuse_scores",
    "gather_chain",
    "part_mean",
    "select_alpha",
    "wavefront_plan",
]
