"""PyG datasets with the standard protocols of skeleton action recognition.

Every dataset is a :class:`~torch_geometric.data.InMemoryDataset` of graphs made by
:func:`skelgraph.data.to_data`, exposes ``class_names`` and ``layout``, finds its data under ``root`` (default
``$SKELGRAPH_DATA/<folder>``, a checkout's ``datasets/<folder>`` or the user data folder, where the bundled data is
copied on first use: :func:`default_root`), rebuilds its processed cache when the
raw files or the pre-processing parameters change, lists skipped samples in ``skipped``, and raises
:class:`RawDataMissingError` with instructions when raw data is missing. See ``datasets/README.md``. Users' own
data: :class:`SkeletonFolder` (one array file per sequence), :class:`PYSKLDataset` (PYSKL annotation ``.pkl``),
:class:`CTRGCNDataset` (CTR-GCN ``.npz``), or :func:`open_dataset` for any of them by path.
"""

from skelgraph.datasets.base import CacheError, RawDataMissingError, SkeletonDataset
from skelgraph.datasets.files import CTRGCNDataset, PYSKLDataset, dataset_kind, dataset_spec, open_dataset
from skelgraph.datasets.florence import Florence3D
from skelgraph.datasets.folder import SkeletonFolder
from skelgraph.datasets.msr import MSR_ACTIONS, MSR_SUBSETS, MSRAction3D
from skelgraph.datasets.ntu import NTU60, NTU120, NTU_ACTIONS
from skelgraph.datasets.roots import DATA_ENV, default_root, install_bundled, user_data_dir
from skelgraph.datasets.sbu import SBU, SBU_FOLDS
from skelgraph.datasets.utkinect import UTKinect

__all__ = [
    "CTRGCNDataset",
    "DATA_ENV",
    "MSR_ACTIONS",
    "MSR_SUBSETS",
    "NTU60",
    "NTU120",
    "NTU_ACTIONS",
    "PYSKLDataset",
    "SBU",
    "SBU_FOLDS",
    "Florence3D",
    "MSRAction3D",
    "CacheError",
    "RawDataMissingError",
    "SkeletonDataset",
    "SkeletonFolder",
    "UTKinect",
    "dataset_kind",
    "dataset_spec",
    "default_root",
    "install_bundled",
    "open_dataset",
    "user_data_dir",
]
