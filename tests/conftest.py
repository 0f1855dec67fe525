import sys
from pathlib import Path

import numpy as np
import pytest

from skelgraph.data import SkeletonSequence
from skelgraph.skeleton import NTU, SBU

sys.path.insert(0, str(Path(__file__).resolve().parent / "io"))  # pose_files, skel_io_helpers: generated data


def synthetic_sequence(T=7, M=1, layout=NTU, label=0, seed=0, **meta):
    """Synthetic (random) skeleton sequence for tests; not real data."""
    rng = np.random.default_rng(seed)
    coords = rng.normal(size=(T, M, layout.num_joints, 3)).astype(np.float32) + np.array([0.1, 0.2, 2.5])
    return SkeletonSequence(coords, layout, label=label, meta=dict(name=f"synthetic{seed}", **meta))


@pytest.fixture
def make_sequence():
    return synthetic_sequence


@pytest.fixture
def sbu_layout():
    return SBU
