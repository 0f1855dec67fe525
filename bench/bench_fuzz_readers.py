"""Reader fuzzing figures: how many mutated files each reader saw and what came out.

Runs the fuzz harness of the test suite (``tests/io/fuzz_cases.py``: bundled real NTU / MSR / SBU files and
synthetic UTKinect, Florence, array and label files, mutated by truncation, deleted / duplicated / swapped lines,
replaced tokens including float32-overflow values like ``1e39``, huge counts, deep nesting, inserted bytes) for
a fixed number of hypothesis-generated variants per reader, with a fixed seed, and counts the outcomes:

* ``ok``: a well-formed result with finite coordinates;
* ``clean_errors``: a ``SkeletonFormatError`` naming the file;
* ``foreign``: any other exception (the goal is 0);
* ``nonfinite``: a result holding NaN/Inf (the goal is 0).

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

from fuzz_cases import F32_OVERFLOW_TOKENS, TARGETS, mutation, outcome  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="10 variants per reader (CI smoke run)")
    parser.add_argument("--variants", type=int, default=1000, help="mutated files per reader")
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
    report = dict(variants_per_reader=variants, seed=args.seed, totals=totals, readers=readers,
                  machine=dict(python=platform.python_version(), system=platform.platform()))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"saved {out}")


if __name__ == "__main__":
    main()
