"""Only regular files are read: a FIFO (which would block), a device (``/dev/zero`` never ends) or a socket behind a
data file's name is refused at once with one ``SkeletonFormatError`` line, by every reader."""

import os
import socket
from pathlib import Path

import pytest

from skelgraph.io import (
    SkeletonFormatError,
    read_ctrgcn,
    read_label_file,
    read_msr_action3d,
    read_ntu_skeleton,
    read_pyskl,
    read_sbu,
    read_sequence,
)
from skelgraph.skeleton import SBU

READERS = {
    "seq.npy": lambda p: read_sequence(p, SBU),
    "seq.npz": lambda p: read_sequence(p, SBU),
    "seq.json": lambda p: read_sequence(p, SBU),
    "seq.csv": lambda p: read_sequence(p, SBU),
    "labels.csv": read_label_file,
    "a.pkl": read_pyskl,
    "data.npz": lambda p: read_ctrgcn(p, SBU, "train"),
    "S001C001P001R001A001.skeleton": read_ntu_skeleton,
    "a01_s01_e01_skeleton3D.txt": read_msr_action3d,
    "skeleton_pos.txt": read_sbu,
}


def special(kind: str, path: Path) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev_zero":
        path.symlink_to("/dev/zero")
    elif kind == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        server.close()
    else:
        path.mkdir()


@pytest.mark.parametrize("kind, found", [("fifo", "FIFO"), ("dev_zero", "character device"), ("socket", "socket"),
                                         ("folder", "folder")])
@pytest.mark.parametrize("name", sorted(READERS))
def test_special_files_are_refused_without_blocking(tmp_path, name, kind, found):
    path = tmp_path / name
    if kind == "socket" and len(str(path)) > 100:
        pytest.skip("socket path too long for AF_UNIX")
    special(kind, path)
    with pytest.raises(SkeletonFormatError, match=f"expected a regular file, found .*{found}") as err:
        READERS[name](path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
