"""Reader fuzzing figures: how many mutated files each reader saw and what came out.

Runs the fuzz harness of the test suite (``tests/io/fuzz_cases.py``: bundled real NTU / MSR / SBU files and
synthetic UTKinect, Florence, array and label files, mutated by truncation, deleted / duplicated / swapped lines,
replaced tokens including float32-overflow values like ``1e39``, huge counts, deep nesting, inserted bytes) for
a fixed number of hypothesis-generated variants per reader, with a fixed seed, and counts the outcomes:

* ``ok``: a well-formed result with finite coordinates;
* ``clean_errors``: a ``SkeletonFormatError`` naming the file;
* ``foreign``: any other exception (the goal is 0);
* ``nonfinite``: a result holding NaN/Inf (the goal is 0).

Beyond the readers (issue 36), the same counts for the classes of hostile input that reach the rest of the
library (``--class-variants`` cases each, same seed): ``pickle_programs`` (random opcodes with shared-reference
chains up to 60 levels, tuples nested up to 100,000 deep, declared sizes up to 2^63, through the bounded pickle
reader), ``spec_fields`` (one checkpoint spec field or the class names set to a hostile value, loaded for
inference), ``float32_pipeline`` (float32 edge values in a real MSR Action3D file, through reader, pre-processing
with a scale of 1e-30 to 1e6 and velocity, and a model), ``cache_damage`` (a processed cache overwritten,
truncated, extended, zeroed, its report damaged, or another cache's payload swapped in; ``served_corrupt`` counts
damaged data returned as good: the goal is 0), ``stream_lines`` (streams mixing good frames and broken lines: each
line must become a result or a report) and ``special_files`` (every kind of special file in place of every
reader's file, enumerated, not drawn). Each class also reports its slowest case.

What the bounds cost: ``pickle_speed`` times the bounded reader (:func:`skelgraph.io.safe_load`) against
Python's C unpickler (``pickle.loads``, no bounds, no safety) on a generated PYSKL file of 20,000 annotations
(2,000 with ``--tiny``), best of three, file already in memory for ``pickle.loads`` and read from the page cache
by ``safe_load``.

Results are printed and saved as JSON.

    python bench/bench_fuzz_readers.py             # 1000 variants per reader -> bench/results/fuzz_readers.json
    python bench/bench_fuzz_readers.py --tiny      # 10 per reader, for CI -> bench/results/fuzz_readers_tiny.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "io"))  # the harness lives with the tests that assert on it

from fuzz_cases import (  # noqa: E402
    F32_OVERFLOW_TOKENS,
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

#: The classes beyond the readers: name -> (strategy, outcome(folder, case), share of --class-variants).
CLASSES = {
    "pickle_programs": (pickle_program(), pickle_outcome, 1.0),
    "spec_fields": (spec_case(), spec_outcome, 1.0),
    "float32_pipeline": (float32_case(), float32_outcome, 1.0),
    "cache_damage": (cache_case(), cache_outcome, 0.5),
    "stream_lines": (stream_case(), stream_outcome, 1.0),
}


def fuzz(target: str, variants: int, random_seed: int) -> dict:
    """Outcome counts of ``variants`` mutated files for one reader, with an example of every bad outcome."""
    counts: Counter[str] = Counter()
    overflow = 0
    examples: dict[str, str] = {}

    @seed(random_seed)
    @settings(max_examples=variants, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(mutation())
    def run(m) -> None:
        nonlocal overflow
        with tempfile.TemporaryDirectory() as folder:
            result = outcome(target, Path(folder), m)
        counts[result] += 1
        overflow += m[0] == "replace_token" and m[3] in F32_OVERFLOW_TOKENS
        if result not in ("ok", "clean"):
            examples.setdefault(result, repr(m)[:300])

    started = time.perf_counter()
    run()
    foreign = {k.removeprefix("foreign:"): v for k, v in counts.items() if k.startswith("foreign:")}
    return dict(variants=sum(counts.values()), ok=counts["ok"], clean_errors=counts["clean"],
                foreign=sum(foreign.values()), foreign_types=foreign, nonfinite=counts["nonfinite"],
                float32_overflow_variants=overflow, seconds=time.perf_counter() - started, bad_examples=examples)


def fuzz_class(name: str, variants: int, random_seed: int) -> dict:
    """Outcome counts of ``variants`` cases of one class beyond the readers, with an example of every bad outcome
    and the slowest case's time."""
    strategy, run_case, _ = CLASSES[name]
    counts: Counter[str] = Counter()
    examples: dict[str, str] = {}
    slowest = 0.0

    @seed(random_seed)
    @settings(max_examples=variants, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(case) -> None:
        nonlocal slowest
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            result = run_case(Path(folder), case)
        slowest = max(slowest, time.perf_counter() - started)
        counts[result] += 1
        if result not in ("ok", "clean"):
            examples.setdefault(result, repr(case)[:300])

    started = time.perf_counter()
    run()
    return _summary(counts, examples, time.perf_counter() - started, slowest)


def _summary(counts: Counter, examples: dict[str, str], seconds: float, slowest: float) -> dict:
    foreign = {k.removeprefix("foreign:"): v for k, v in counts.items() if k.startswith("foreign:")}
    return dict(variants=sum(counts.values()), ok=counts["ok"], clean_errors=counts["clean"],
                foreign=sum(foreign.values()), foreign_types=foreign, nonfinite=counts["nonfinite"],
                served_corrupt=counts["served_corrupt"], seconds=seconds, slowest_case_seconds=slowest,
                bad_examples=examples)


def special_files() -> dict:
    """Every kind of special file in place of every reader's file."""
    counts: Counter[str] = Counter()
    examples: dict[str, str] = {}
    slowest = 0.0
    started = time.perf_counter()
    for kind in SPECIAL_KINDS:
        for target in sorted(TARGETS):
            case_started = time.perf_counter()
            with tempfile.TemporaryDirectory() as folder:
                result = special_outcome(Path(folder), kind, target)
            slowest = max(slowest, time.perf_counter() - case_started)
            counts[result] += 1
            if result not in ("ok", "clean"):
                examples.setdefault(result, f"{kind} as {target}")
    return _summary(counts, examples, time.perf_counter() - started, slowest)


def pickle_speed(annotations: int) -> dict:
    """Seconds of :func:`skelgraph.io.safe_load` and of ``pickle.loads`` on a generated PYSKL file (best of 3)."""
    import pickle

    import numpy as np

    from skelgraph.io import safe_load

    rng = np.random.default_rng(0)
    records = [dict(frame_dir=f"S{i:06d}", label=i % 60, img_shape=(1080, 1920), original_shape=(1080, 1920),
                    total_frames=50, keypoint=rng.normal(size=(1, 50, 17, 2)).astype(np.float32),
                    keypoint_score=rng.random((1, 50, 17)).astype(np.float32)) for i in range(annotations)]
    content = dict(split={"train": [r["frame_dir"] for r in records]}, annotations=records)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ann.pkl"
        path.write_bytes(pickle.dumps(content, protocol=4))
        data = path.read_bytes()
        timings = {}
        for name, load in (("safe_load", lambda: safe_load(path)), ("pickle_loads", lambda: pickle.loads(data))):
            best = float("inf")
            for _ in range(3):
                started = time.perf_counter()
                load()
                best = min(best, time.perf_counter() - started)
            timings[name] = best
    return dict(annotations=annotations, megabytes=len(data) / 1e6, seconds=timings,
                ratio=timings["safe_load"] / timings["pickle_loads"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="10 variants per reader (CI smoke run)")
    parser.add_argument("--variants", type=int, default=1000, help="mutated files per reader")
    parser.add_argument("--class-variants", type=int, default=400,
                        help="cases per class beyond the readers (cache damage: half as many)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="JSON output path")
    args = parser.parse_args()
    variants = 10 if args.tiny else args.variants
    out = args.out or ROOT / "bench" / "results" / ("fuzz_readers_tiny.json" if args.tiny else "fuzz_readers.json")

    readers = {name: fuzz(name, variants, args.seed) for name in sorted(TARGETS)}
    keys = ("variants", "ok", "clean_errors", "foreign", "nonfinite", "float32_overflow_variants")
    totals = {k: sum(r[k] for r in readers.values()) for k in keys}
    print(f"{'reader':16s} " + " ".join(f"{k:>12s}" for k in keys))
    for name, r in {**readers, "total": totals}.items():
        print(f"{name:16s} " + " ".join(f"{r[k]:12d}" for k in keys))
    class_variants = 5 if args.tiny else args.class_variants
    classes = {name: fuzz_class(name, max(1, int(class_variants * share)), args.seed)
               for name, (_, _, share) in CLASSES.items()}
    classes["special_files"] = special_files()
    keys = ("variants", "ok", "clean_errors", "foreign", "nonfinite", "served_corrupt")
    print(f"\n{'class':16s} " + " ".join(f"{k:>14s}" for k in keys) + f" {'slowest (s)':>12s}")
    for name, r in classes.items():
        print(f"{name:16s} " + " ".join(f"{r[k]:14d}" for k in keys) + f" {r['slowest_case_seconds']:12.2f}")
    speed = pickle_speed(2_000 if args.tiny else 20_000)
    print(f"\nbounded pickle reader: {speed['seconds']['safe_load']:.2f} s for {speed['megabytes']:.0f} MB "
          f"({speed['annotations']} annotations), pickle.loads {speed['seconds']['pickle_loads']:.2f} s "
          f"({speed['ratio']:.1f}x)")
    report = dict(variants_per_reader=variants, seed=args.seed, totals=totals, readers=readers,
                  class_variants=class_variants, classes=classes, pickle_speed=speed,
                  machine=dict(python=platform.python_version(), system=platform.platform()))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"saved {out}")


if __name__ == "__main__":
    main()
