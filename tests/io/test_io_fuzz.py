"""Property-based fuzzing of every reader (harness: ``fuzz_cases.py``): mutated real and synthetic files either
read into finite, well-formed sequences or raise ``SkeletonFormatError`` naming the file; no other exception
escapes and no NaN/Inf comes out, float32-overflow tokens like ``1e39`` included. Beyond the readers: pickle
programs (deep and shared), checkpoint spec fields, float32 edges through the whole pipeline, special files,
damaged caches and stream lines. Bounded to stay well under a minute in all; ``bench/bench_fuzz_readers.py`` runs
the same harness longer and counts the outcomes."""

import tempfile
from pathlib import Path

import pytest
from fuzz_cases import (
    SPECIAL_KINDS,
    TARGETS,
    cache_case,
    cache_outcome,
    float32_case,
    float32_outcome,
    mutation,
    outcome,
    pickle_outcome,
    pickle_program,
    spec_case,
    spec_outcome,
    special_outcome,
    stream_case,
    stream_outcome,
)
from hypothesis import HealthCheck, given, settings

SETTINGS = settings(max_examples=100, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.mark.parametrize("target", sorted(TARGETS))
@SETTINGS
@given(m=mutation())
def test_reader_gives_a_result_or_a_clean_error(target, m):
    with tempfile.TemporaryDirectory() as folder:
        assert outcome(target, Path(folder), m) in ("ok", "clean"), m


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_float32_overflow_tokens_never_become_inf(target):
    """Every value slot of the first lines replaced by 1e39 (finite in float64, Inf in float32)."""
    for line in range(4):
        for column in range(4):
            with tempfile.TemporaryDirectory() as folder:
                assert outcome(target, Path(folder), ("replace_token", line, column, "1e39", b"x")) in ("ok", "clean")


# ------------------------------------------------------------------ beyond the readers (issue 36): few examples
# each here, hundreds in bench/bench_fuzz_readers.py; every case bounded by small limits.
FEW = settings(max_examples=25, deadline=None, database=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                      HealthCheck.data_too_large])


@FEW
@given(data=pickle_program())
def test_pickle_programs_are_read_or_refused_never_crash(data):
    with tempfile.TemporaryDirectory() as folder:
        assert pickle_outcome(Path(folder), data) in ("ok", "clean"), data[:200]


@settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(case=spec_case())
def test_checkpoint_spec_fields_are_accepted_or_refused_in_one_line(case):
    with tempfile.TemporaryDirectory() as folder:
        assert spec_outcome(Path(folder), case) in ("ok", "clean"), case


@settings(max_examples=10, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(case=float32_case())
def test_float32_edges_through_the_whole_pipeline_never_give_nan(case):
    with tempfile.TemporaryDirectory() as folder:
        assert float32_outcome(Path(folder), case) in ("ok", "clean"), case


@pytest.mark.parametrize("kind", SPECIAL_KINDS)
@pytest.mark.parametrize("target", ["array_npy", "array_json", "pyskl", "ntu", "label_file"])
def test_special_files_in_place_of_data_are_refused(kind, target):
    with tempfile.TemporaryDirectory() as folder:
        assert special_outcome(Path(folder), kind, target) == "clean"


@settings(max_examples=6, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(case=cache_case())
def test_damaged_caches_are_never_served(case):
    with tempfile.TemporaryDirectory() as folder:
        assert cache_outcome(Path(folder), case) in ("ok", "clean"), case


@settings(max_examples=8, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(case=stream_case())
def test_stream_lines_become_a_frame_or_a_report_never_a_traceback(case):
    with tempfile.TemporaryDirectory() as folder:
        assert stream_outcome(Path(folder), case) in ("ok", "clean"), case
