"""Readers for raw skeleton files: one module per format, vectorised numpy, one exception family.

Sensor formats (NTU RGB+D, MSR Action3D, SBU, UTKinect, Florence 3D), users' own arrays (``.npy``, ``.npz``,
``.csv``, ``.json``, 2-D or 3-D, with or without confidence scores) and the exchange formats of the
skeleton-action toolkits: PYSKL / MMAction2 annotation ``.pkl`` files (read without running pickled code) and
CTR-GCN-style ``.npz`` archives.

Every reader returns :class:`~skelgraph.data.SkeletonSequence` objects with 0-based labels and metadata
(``subject``, ``camera``, ``setup``, ``repetition``, ``name``, ``source`` where the format has them). Bad input
raises :class:`SkeletonFormatError` (subclasses :class:`EmptySequenceError` and :class:`MissingSkeletonError`
mark samples that datasets skip and count), whose message names the file, the line and what was expected.

Hostile files are bounded: only regular files are read, no further than their size (a FIFO, a device or a socket
behind a name is refused at once, :mod:`skelgraph.io._files`); coordinates must be finite float32 after every
conversion; pickles are read by a reader that counts depth, values and bytes while it reads
(:mod:`skelgraph.io.safe_pickle`, limits adjustable with :class:`PickleLimits`).
"""

from skelgraph.io.ctrgcn import CTRGCNSplit, read_ctrgcn
from skelgraph.io.errors import EmptySequenceError, MissingSkeletonError, SkeletonFormatError
from skelgraph.io.florence import FLORENCE_CLASSES, read_florence3d
from skelgraph.io.folder import ARRAY_SUFFIXES, read_array, read_coordinates, read_label_file, read_sequence
from skelgraph.io.msr import read_msr_action3d, read_msr_file_list
from skelgraph.io.ntu import (
    NTURecording,
    parse_ntu_name,
    parse_ntu_skeleton,
    read_name_list,
    read_ntu_skeleton,
    select_bodies,
)
from skelgraph.io.pyskl import PYSKLAnnotations, SafeUnpickler, pyskl_sequence, read_pyskl, safe_load
from skelgraph.io.safe_pickle import PickleLimits
from skelgraph.io.sbu import SBU_CLASSES, read_sbu
from skelgraph.io.utkinect import (
    UTKINECT_ACTIONS,
    read_utkinect,
    read_utkinect_joints,
    read_utkinect_labels,
    utkinect_overlaps,
)

__all__ = [
    "ARRAY_SUFFIXES",
    "CTRGCNSplit",
    "FLORENCE_CLASSES",
    "SBU_CLASSES",
    "UTKINECT_ACTIONS",
    "EmptySequenceError",
    "MissingSkeletonError",
    "NTURecording",
    "PYSKLAnnotations",
    "PickleLimits",
    "SafeUnpickler",
    "SkeletonFormatError",
    "parse_ntu_name",
    "parse_ntu_skeleton",
    "pyskl_sequence",
    "read_array",
    "read_coordinates",
    "read_ctrgcn",
    "read_florence3d",
    "read_label_file",
    "read_msr_action3d",
    "read_msr_file_list",
    "read_name_list",
    "read_ntu_skeleton",
    "read_pyskl",
    "read_sbu",
    "read_sequence",
    "read_utkinect",
    "read_utkinect_joints",
    "read_utkinect_labels",
    "safe_load",
    "utkinect_overlaps",
    "select_bodies",
]
