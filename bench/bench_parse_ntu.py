"""NTU RGB+D ``.skeleton`` parsing throughput: skelgraph's bulk reader vs a plain line-by-line Python parser.

Parses the five genuine samples bundled in ``datasets/ntu_rgbd/raw/samples`` repeatedly and reports MB/s of
file text for

* ``line_by_line``: the usual reader (the official MATLAB reader / SGN's ``get_raw_bodies_data`` in Python):
  ``readlines`` and a ``float()`` per value, one NumPy row per joint line;
* ``skelgraph_parse``: :func:`skelgraph.io.parse_ntu_skeleton` (every body, validated, no selection);
* ``skelgraph_read``: :func:`skelgraph.io.read_ntu_skeleton` (parse + SGN body selection + SkeletonSequence).

Both parsers' coordinates are compared before timing. Results are printed and saved as JSON.

    python bench/bench_parse_ntu.py            # full run -> bench/results/parse_ntu.json
    python bench/bench_parse_ntu.py --tiny     # one pass, for CI -> bench/results/parse_ntu_tiny.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from skelgraph.io import parse_ntu_skeleton, read_ntu_skeleton

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "datasets" / "ntu_rgbd" / "raw" / "samples").glob("*.skeleton"))


def line_by_line(path: Path) -> dict[str, np.ndarray]:
    """Straightforward reader: every value through ``float()``; returns {body_id: (frames, 25, 3)}."""
    with open(path) as f:
        lines = f.readlines()
    pos = 0
    n_frames = int(lines[pos])
    pos += 1
    bodies: dict[str, list[np.ndarray]] = {}
    for _ in range(n_frames):
        n_bodies = int(lines[pos])
        pos += 1
        for _ in range(n_bodies):
            body_id = lines[pos].split()[0]
            pos += 1
            n_joints = int(lines[pos])
            pos += 1
            joints = np.zeros((n_joints, 3), dtype=np.float32)
            for j in range(n_joints):
                values = [float(v) for v in lines[pos].split()]
                joints[j] = values[:3]
                pos += 1
            bodies.setdefault(body_id, []).append(joints)
    return {k: np.stack(v) for k, v in bodies.items()}


def check_agreement() -> None:
    for path in SAMPLES:
        rec = parse_ntu_skeleton(path)
        ref = line_by_line(path)
        assert list(ref) == rec.body_ids, path
        for b, body_id in enumerate(rec.body_ids):
            np.testing.assert_array_equal(rec.joints[rec.present[:, b], b], ref[body_id])


def throughput(fn, repeats: int) -> dict[str, float]:
    """MB/s (10^6 bytes of file text per second) over ``repeats`` passes over all samples; best pass."""
    size = sum(p.stat().st_size for p in SAMPLES)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for path in SAMPLES:
            fn(path)
        best = min(best, time.perf_counter() - start)
    return dict(mb_per_s=size / best / 1e6, seconds_per_pass=best, files_per_s=len(SAMPLES) / best)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="one timed pass (CI smoke run)")
    parser.add_argument("--repeats", type=int, default=20, help="timed passes over the samples (best is kept)")
    parser.add_argument("--out", type=Path, default=None, help="JSON output path")
    args = parser.parse_args()
    repeats = 1 if args.tiny else args.repeats
    out = args.out or ROOT / "bench" / "results" / ("parse_ntu_tiny.json" if args.tiny else "parse_ntu.json")

    check_agreement()
    results = {
        "line_by_line": throughput(line_by_line, repeats),
        "skelgraph_parse": throughput(parse_ntu_skeleton, repeats),
        "skelgraph_read": throughput(read_ntu_skeleton, repeats),
    }
    base = results["line_by_line"]["mb_per_s"]
    for r in results.values():
        r["speedup_vs_line_by_line"] = r["mb_per_s"] / base
    report = dict(
        files=[p.name for p in SAMPLES],
        total_bytes=sum(p.stat().st_size for p in SAMPLES),
        repeats=repeats,
        machine=dict(python=platform.python_version(), numpy=np.__version__, processor=platform.processor(),
                     system=platform.platform()),
        results=results,
    )
    for name, r in results.items():
        print(f"{name:16s} {r['mb_per_s']:8.1f} MB/s  {r['files_per_s']:8.1f} files/s  "
              f"x{r['speedup_vs_line_by_line']:.2f}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"saved {out}")


if __name__ == "__main__":
    main()
