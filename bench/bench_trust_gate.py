"""Cost of the ST-LSTM trust gate: one layer's forward + backward at SBU size, four paths in one run.

* ``wavefront``: :class:`~skelgraph.nn.st_lstm.STLSTM` without the trust gate (hand-written backward);
* ``trust_gate``: ``STLSTM(trust_gate=True)``, the same wavefront with the trust gate's prediction as ``H`` more
  gate rows (hand-written backward too);
* ``diagonals`` and ``trust_gate_autograd``: the two layers through the plain-autograd diagonals
  (``_forward_diagonals``), the path the trust gate used before it had a hand-written backward.

The paths alternate within one run (so that a change in machine load hits all of them; the figure per path is
the best of ``--repeats``) and ratios are against ``wavefront``. Outputs are compared in float64 before timing.
Results are printed and saved.

    python bench/bench_trust_gate.py            # -> bench/results/trust_gate.json
    python bench/bench_trust_gate.py --tiny     # small sizes, one repeat, for CI -> trust_gate_tiny.json
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import torch
from bench_st_lstm import check_layer, timed

from skelgraph.nn.st_lstm import STLSTM, flush_denormals
from skelgraph.skeleton import SBU

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=32, help="sequences (SBU: 16 samples x 2 bodies)")
    p.add_argument("--frames", type=int, default=20)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--tiny", action="store_true", help="small sizes and one repeat (CI)")
    p.add_argument("--out", type=Path, default=None, help="JSON file (default: bench/results/trust_gate[_tiny].json)")
    args = p.parse_args(argv)
    if args.tiny:
        args.batch, args.frames, args.hidden, args.repeats = 2, 3, 8, 1
    torch.set_num_threads(args.threads)
    flush_denormals()
    torch.manual_seed(0)
    L, H = SBU.chain("tree").numel(), args.hidden
    x = torch.randn(args.batch, L, args.frames, H)
    plain, trusted = STLSTM(H, H), STLSTM(H, H, trust_gate=True)
    check_layer(trusted, x[:2])  # the trust-gate wavefront against the per-cell loop
    with torch.no_grad():
        for layer in (plain, trusted):
            layer.double()
            torch.testing.assert_close(layer._forward_diagonals(x[:2].double(), None), layer(x[:2].double()),
                                       rtol=1e-6, atol=1e-7)
            layer.float()
    steps = {
        "wavefront": lambda: plain(x).sum().backward(),
        "trust_gate": lambda: trusted(x).sum().backward(),
        "diagonals": lambda: plain._forward_diagonals(x, None).sum().backward(),
        "trust_gate_autograd": lambda: trusted._forward_diagonals(x, None).sum().backward(),
    }
    times: dict[str, list[float]] = {k: [] for k in steps}
    for _ in range(args.repeats):
        for name, step in steps.items():
            times[name].append(timed(step))
    seconds = {k: min(v) for k, v in times.items()}
    result = {"grid": [L, args.frames], "batch": args.batch, "hidden": H, "threads": args.threads,
              "seconds": seconds, "ratio_to_wavefront": {k: v / seconds["wavefront"] for k, v in seconds.items()},
              "machine": platform.processor() or platform.machine(), "torch": torch.__version__}
    print(json.dumps(result, indent=1))
    out = args.out or ROOT / "bench" / "results" / ("trust_gate_tiny.json" if args.tiny else "trust_gate.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
