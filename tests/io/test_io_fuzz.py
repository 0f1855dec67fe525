"""Property-based fuzzing of every reader (harness: ``fuzz_cases.py``): mutated real and synthetic files either
read into finite, well-formed sequences or raise ``SkeletonFormatError`` naming the file; no other exception
escapes and no NaN/Inf comes out, float32-overflow tokens like ``1e39`` included. Bounded to stay well under a
minute in all; ``bench/bench_fuzz_readers.py`` runs the same harness longer and counts the outcomes."""

import tempfile
from pathlib import Path

import pytest
from fuzz_cases import TARGETS, mutation, outcome
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
