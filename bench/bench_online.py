"""Per-frame latency of online prediction (:class:`skelgraph.online.OnlinePredictor`): one frame in, class
probabilities out, on this CPU.

Configurations (NTU paper sizes, one person, 25 joints, untrained weights: latency does not depend on them):

* ``arrn incremental``: two-stream ARRN-LSTM (``ARRNLSTM.from_paper("ntu")``: M=50, E=5, LSTM 512-512-512), the
  LSTM state carried from frame to frame: per frame the pre-processing of at most three frames, the RRN on one
  frame, one LSTM step;
* ``arrn window``: the same model re-run on the last ``T = 100`` frames after every frame (what a model without a
  carried state costs; for comparison);
* ``gca window``: GCA-LSTM (``GCALSTM.from_paper("ntu")``: hidden 128, N=2, T=100) on a sliding window of the last
  100 frames, the only way for a model whose attention scores every step against the whole window.

Timed: ``predictor.push(frame)`` (pre-processing, model, softmax) for every frame of a synthetic stream of
``--frames`` frames after ``--warmup`` frames, each configuration in a fresh process (``run_worker``); median,
99th percentile and mean in milliseconds, and the median over the first and the last ten frames (neither kind
grows with the stream: the incremental model does one frame's work, the window models always run ``T`` frames,
zero-padded while the window fills). One torch thread by default (see ``bench/README.md``).

    python bench/bench_online.py                  # -> bench/results/online.json
    python bench/bench_online.py --tiny           # small models, seconds -> bench/results/online_tiny.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _common import run_worker

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = (("arrn", "incremental"), ("arrn", "window"), ("gca", "window"))


def build(model: str, tiny: bool) -> tuple[torch.nn.Module, dict]:
    from skelgraph.nn import ARRNLSTM, GCALSTM
    from skelgraph.skeleton import NTU
    from skelgraph.training.registry import pipeline_spec

    T = 8 if tiny else 100
    small = dict(M=8, E=1, att_channels=8, lstm_sizes=(8,)) if tiny else {}
    if model == "arrn":
        net = ARRNLSTM.from_paper("ntu", T=T, **small)
    else:
        net = GCALSTM.from_paper("ntu", num_frames=T, **({"hidden_channels": 8} if tiny else {}))
    return net, pipeline_spec(NTU, T, scale=2.0)


def worker(spec: dict) -> dict:
    """Time one configuration (runs in a fresh process)."""
    from skelgraph.nn.st_lstm import flush_denormals
    from skelgraph.online import OnlinePredictor

    torch.set_num_threads(spec["threads"])
    flush_denormals()
    torch.manual_seed(0)
    model, pipeline = build(spec["model"], spec["tiny"])
    online = OnlinePredictor(model, pipeline, [str(k) for k in range(model.num_classes)], mode=spec["mode"])
    rng = np.random.default_rng(0)
    base = rng.normal(size=(25, 3)).astype(np.float32) * 0.3 + np.array([0, 0, 3], np.float32)
    frames = [base + 0.02 * np.sin(t / 5) * rng.normal(size=(25, 3)).astype(np.float32)
              for t in range(spec["warmup"] + spec["frames"])]
    times = []
    for t, frame in enumerate(frames):
        start = time.perf_counter()
        probs = online.push(frame)
        elapsed = time.perf_counter() - start
        if t >= spec["warmup"]:
            times.append(elapsed * 1e3)
    assert torch.isfinite(probs).all()
    ordered = sorted(times)
    return {"model": spec["model"], "mode": spec["mode"], "frames": len(times), "median_ms": statistics.median(times),
            "p99_ms": ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))],
            "mean_ms": statistics.fmean(times), "first10_median_ms": statistics.median(times[:10]),
            "last10_median_ms": statistics.median(times[-10:]), "window": online.window,
            "parameters": sum(p.numel() for p in model.parameters())}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=200, help="timed frames per configuration")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--tiny", action="store_true", help="small models and 12 frames (CI)")
    p.add_argument("--out", default=None, help="JSON file (default: bench/results/online[_tiny].json)")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    frames, warmup = (12, 2) if args.tiny else (args.frames, args.warmup)
    rows = []
    for model, mode in CONFIGS:
        spec = {"model": model, "mode": mode, "frames": frames, "warmup": warmup, "threads": args.threads,
                "tiny": args.tiny}
        row = run_worker(__file__, spec)
        rows.append(row)
        print(f"{model:5s} {mode:11s} window {row['window']:3d}: median {row['median_ms']:8.2f} ms, p99 "
              f"{row['p99_ms']:8.2f} ms, first 10 {row['first10_median_ms']:7.2f} ms, last 10 "
              f"{row['last10_median_ms']:7.2f} ms per frame", flush=True)
    result = {"rows": rows, "frames": frames, "warmup": warmup, "threads": args.threads, "tiny": args.tiny,
              "machine": {"processor": platform.processor() or platform.machine(), "python": sys.version.split()[0],
                          "torch": torch.__version__}}
    out = Path(args.out) if args.out else ROOT / "bench" / "results" / f"online{'_tiny' if args.tiny else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"-> {out}")


if __name__ == "__main__":
    main()
