"""The bounded pickle reader (:mod:`skelgraph.io.safe_pickle`): plain pickles of every protocol read exactly as
``pickle.loads`` reads them; hostile ones (deep keys, shared-reference expansion, declared sizes beyond the file,
cycles, code) are refused while they are read, in bounded time, with one ``SkeletonFormatError`` line."""

import pickle
import time

import numpy as np
import pytest
from fuzz_cases import HOSTILE_PICKLES, _deep_key, _shared_levels

from skelgraph.io import SkeletonFormatError, safe_load
from skelgraph.io.safe_pickle import PickleLimits, PickleRefused, scan_bytes

PLAIN = {"a": [1, -2**40, 2.5, None, True, False, "é", b"\x00\xff" * 3000, (3, (4, ())), set(), {1, "x"}],
         "b": {(1, 2): frozenset({3})}, "c": [[], {}], "shared": ["s"] * 3}


@pytest.mark.parametrize("protocol", range(6))
def test_plain_pickles_read_as_pickle_reads_them(tmp_path, protocol):
    path = tmp_path / "p.pkl"
    path.write_bytes(pickle.dumps(PLAIN, protocol=protocol))
    assert safe_load(path) == PLAIN == pickle.loads(path.read_bytes())


def test_shared_arrays_and_numpy_scalars(tmp_path):
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    value = {"x": array, "y": array, "z": np.float64(2.5), "big": np.zeros(5000, np.int64)}
    path = tmp_path / "a.pkl"
    for protocol in (2, 4, 5):
        path.write_bytes(pickle.dumps(value, protocol=protocol))
        loaded = safe_load(path)
        np.testing.assert_array_equal(loaded["x"], array)
        np.testing.assert_array_equal(loaded["y"], array)
        assert loaded["z"] == 2.5 and loaded["big"].shape == (5000,)


@pytest.mark.parametrize("name", sorted(HOSTILE_PICKLES))
def test_hostile_pickles_are_refused_quickly(tmp_path, name):
    path = tmp_path / f"{name}.pkl"
    path.write_bytes(HOSTILE_PICKLES[name])
    started = time.perf_counter()
    with pytest.raises(SkeletonFormatError) as err:
        safe_load(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    assert time.perf_counter() - started < 10  # generous: the slowest case reads 400 KB of opcodes


def test_depth_is_refused_before_the_deep_key_is_hashed(tmp_path):
    # 33 levels is one too many: refused before the tuple exists (hashing 10^6 levels crashed CPython).
    with pytest.raises(PickleRefused, match="deeper than 32"):
        scan_bytes(_deep_key(33))
    scan_bytes(_deep_key(31))


def test_shared_references_count_their_whole_size_at_every_use():
    # level k holds two references to level k-1: a plain copy has 2^(k+1) - 1 lists (plus the k+1 pushes).
    limits = PickleLimits(nodes=2**11)
    scan_bytes(_shared_levels(8), limits)
    with pytest.raises(PickleRefused, match="more than 2,048 values"):
        scan_bytes(_shared_levels(11), limits)
    text = b"\x80\x04\x8c\x0a0123456789\x940(" + b"h\x00" * 20 + b"l."  # one 10-byte string used 21 times
    scan_bytes(text, PickleLimits(bytes=210))
    with pytest.raises(PickleRefused, match="bytes of data"):
        scan_bytes(text, PickleLimits(bytes=209))


def test_declared_sizes_are_checked_against_the_file():
    for name in ("frame_of_2_4_gb", "binbytes8_of_2_4_gb", "bytearray8_of_2_4_gb", "binunicode8_of_2_4_gb"):
        with pytest.raises(PickleRefused, match="2400000000 bytes where"):
            scan_bytes(HOSTILE_PICKLES[name])


def test_limits_are_adjustable_per_call(tmp_path):
    path = tmp_path / "wide.pkl"
    path.write_bytes(pickle.dumps(list(range(1000))))
    assert len(safe_load(path)) == 1000
    with pytest.raises(SkeletonFormatError, match="more than 100 values"):
        safe_load(path, PickleLimits(nodes=100))
