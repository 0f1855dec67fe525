import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "io"))  # skel_io_helpers

DATA = Path(__file__).resolve().parents[2] / "datasets"


@pytest.fixture(scope="session")
def data_root(tmp_path_factory):
    """A data root whose raw folders link to the repository's bundled data; processed caches stay in tmp and
    are built once per session."""
    root = tmp_path_factory.mktemp("data")
    for name in ("msr_action3d", "sbu", "ntu_rgbd"):
        (root / name).mkdir()
        os.symlink(DATA / name / "raw", root / name / "raw")
    return root
