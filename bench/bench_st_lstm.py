"""ST-LSTM wavefront vs the plain per-cell loop: one layer and the full GCA-LSTM, forward + backward.

At NTU size (tree-traversal chain of 49 positions, T = 100 frames, hidden 128) for batch 32 and batch 1:

* ``layer``: one :class:`~skelgraph.nn.st_lstm.STLSTM` layer on 3-D joint coordinates, ``sum(h).backward()``;
* ``gca``: :class:`~skelgraph.nn.gca_lstm.GCALSTM` (paper defaults: feed-forward ``IF(0)``, N = 2 iterations,
  60 classes), ``training_loss(data).backward()``; the reference runs the same model with every ST-LSTM layer
  switched to :meth:`~skelgraph.nn.st_lstm.STLSTM.forward_reference`.

Wavefront and loop alternate within one run (the figure is the best of ``--repeats`` of each) and the ratio is
loop time / wavefront time. Both outputs are compared before timing. Results are printed and saved as JSON.

    python bench/bench_st_lstm.py                  # -> bench/results/st_lstm.json
    python bench/bench_st_lstm.py --threads 2      # torch.set_num_threads (default 1)
    python bench/bench_st_lstm.py --tiny           # small sizes, one repeat, for CI -> st_lstm_tiny.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import torch
from bench_flops import Count, _st_lstm, gemm_rate
from torch_geometric.data import Batch, Data

from skelgraph.nn.gca_lstm import GCALSTM
from skelgraph.nn.st_lstm import STLSTM, flush_denormals
from skelgraph.skeleton import NTU

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def per_cell_loop(model: torch.nn.Module):
    """Run every ST-LSTM layer of ``model`` with the per-cell reference loop."""
    layers = [m for m in model.modules() if isinstance(m, STLSTM)]
    for layer in layers:
        layer.forward = layer.forward_reference  # type: ignore[method-assign]
    try:
        yield
    finally:
        for layer in layers:
            del layer.forward


def ntu_batch(batch_size: int, frames: int, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    data = [
        Data(x=torch.randn(NTU.num_joints, frames, 3, generator=g), y=torch.tensor([i % 60]), num_nodes=NTU.num_joints)
        for i in range(batch_size)
    ]
    return Batch.from_data_list(data)


def timed(step: Callable[[], None]) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def compare(name: str, fast: Callable[[], None], loop: Callable[[], None], repeats: int, loop_repeats: int) -> dict:
    times: dict[str, list[float]] = {"wavefront": [], "loop": []}
    for k in range(repeats):  # alternate so that a change in machine load hits both
        times["wavefront"].append(timed(fast))
        if k < loop_repeats:
            times["loop"].append(timed(loop))
    best = {k: min(v) for k, v in times.items()}
    row = {"name": name, "best_s": best, "all_s": times, "ratio": best["loop"] / best["wavefront"]}
    print(f"{name:<28} wavefront {best['wavefront']:8.3f} s   loop {best['loop']:8.3f} s   ratio {row['ratio']:6.1f}x",
          flush=True)
    return row


# Outputs are compared in float64: over a 49 x 100 grid the recurrence amplifies rounding differences of
# summation order about a million-fold at random initialisation, so float32 outputs of the two agree to ~1e-1 only.
def check_layer(layer: STLSTM, x: torch.Tensor) -> None:
    layer.double()
    with torch.no_grad():
        torch.testing.assert_close(layer(x.double()), layer.forward_reference(x.double()), rtol=1e-6, atol=1e-7)
    layer.float()


def check_gca(model: GCALSTM, data: Batch) -> None:
    model.double().eval()
    data.x = data.x.double()
    with torch.no_grad():
        fast = model(data)
        with per_cell_loop(model):
            torch.testing.assert_close(fast, model(data), rtol=1e-6, atol=1e-7)
    model.float().train()


def layer_flops(batch_size: int, L: int, T: int, C: int, H: int) -> float:
    """Matrix-product FLOPs of one ST-LSTM layer, forward + backward, input without gradient (as timed): the
    model count of ``bench_flops.py``."""
    count = Count()
    _st_lstm(count, "layer", batch_size, L, T, C, H, input_grad=False)
    return count.total("forward") + count.total("backward")


def bench_layer(batch_size: int, frames: int, hidden: int, repeats: int) -> dict:
    torch.manual_seed(0)
    layer = STLSTM(3, hidden)
    L = NTU.chain("tree").numel()
    x = torch.randn(batch_size, L, frames, 3)  # joint coordinates: the first layer's input needs no gradient
    check_layer(layer, x[:2])
    row = compare(
        f"layer  S={batch_size} L={L} T={frames}",
        lambda: layer(x).sum().backward(),
        lambda: layer.forward_reference(x).sum().backward(),
        repeats,
        repeats,
    )
    # The ceiling: both implementations do the same products, so no implementation beats FLOPs / GEMM rate.
    flops, rate = layer_flops(batch_size, L, frames, 3, hidden), gemm_rate(2048, 3)[0]
    row.update(
        gflop=flops / 1e9,
        gemm_gflops=rate / 1e9,
        fraction_of_gemm={k: flops / t / rate for k, t in row["best_s"].items()},
        ceiling_ratio=row["best_s"]["loop"] / (flops / rate),
    )
    print(f"{'':<28} {flops / 1e9:.0f} GFLOP; GEMM {rate / 1e9:.0f} GFLOP/s: wavefront at "
          f"{row['fraction_of_gemm']['wavefront']:.0%}, loop at {row['fraction_of_gemm']['loop']:.0%} of it; "
          f"ratio ceiling {row['ceiling_ratio']:.1f}x", flush=True)
    return row


def bench_gca(batch_size: int, frames: int, hidden: int, repeats: int) -> dict:
    torch.manual_seed(0)
    model = GCALSTM(NTU, 60, num_frames=frames, hidden_channels=hidden)
    data = ntu_batch(batch_size, frames)

    def step() -> None:
        model.zero_grad(set_to_none=True)
        model.training_loss(data).backward()

    def loop_step() -> None:
        with per_cell_loop(model):
            step()

    check_gca(model, ntu_batch(2, frames))
    # The loop takes minutes per step at batch 32: time it once there.
    loop_repeats = 1 if batch_size > 8 else repeats
    return compare(f"gca N=2 S={batch_size} T={frames}", step, loop_step, repeats, loop_repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="small sizes and one repeat (CI)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    flush = flush_denormals()  # as the training engine does on CPU
    if args.tiny:
        frames, hidden, batches, repeats = 6, 16, (4, 1), 1
    else:
        frames, hidden, batches, repeats = 100, 128, (32, 1), args.repeats
    print(f"torch {torch.__version__}, {args.threads} thread(s), {platform.processor() or platform.machine()}")
    rows = []
    for batch_size in batches:
        rows.append(bench_layer(batch_size, frames, hidden, repeats))
        rows.append(bench_gca(batch_size, frames, hidden, repeats))
    result = {
        "torch": torch.__version__,
        "threads": args.threads,
        "flush_denormals": flush,
        "machine": platform.platform(),
        "cpu_count": os.cpu_count(),
        "frames": frames,
        "hidden": hidden,
        "chain_length": NTU.chain("tree").numel(),
        "rows": rows,
    }
    out = args.out or ROOT / "bench" / "results" / ("st_lstm_tiny.json" if args.tiny else "st_lstm.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"saved {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


if __name__ == "__main__":
    main()
