"""RRN layer and ARRN-LSTM training step at NTU paper size: complete-graph fast path vs edge-list path vs frames.

Paths compared (all compute the same function; the tests prove fast == edge list):

* ``fast``: ``RRN(x, num_nodes_per_graph=J)`` on ``[S * J, T, M]``, the complete-graph fast path;
* ``edge``: ``RRN(x, edge_index)`` on ``[S * J, T, M]`` with the complete graphs as an edge list
  (``propagate`` over all frames at once via ``node_dim=0``);
* ``per_frame``: a plain loop over the ``T`` frames calling ``RRN(x[:, t], edge_index)`` on ``[S * J, M]``;

each with and without activation checkpointing of the rounds (``+ckpt``). For the full model the two-stream
:class:`~skelgraph.nn.arrn.ARRNLSTM` (``ARRNLSTM.from_paper("ntu")``: T=100, J=25, M=50, E=5) runs one SGD step
(forward, backward, update) with each stream's RRN called through the path under test.

Figures per configuration, each measured in a fresh subprocess so runs do not disturb each other:

* ``time_s``: median wall time of forward + backward (+ optimizer step for the model) over ``--repeats`` runs
  after one warm-up, and ``time_per_sample_ms``;
* ``peak_mb``: peak resident memory (``ru_maxrss``) during the warm-up step minus the resident memory just
  before it: the working memory of one training step (glibc returns large blocks to the OS, so resident
  memory follows live tensor bytes), ``peak_per_sample_mb`` likewise;
* ``saved_mb``: bytes of the tensors autograd saves for backward, counted with
  ``torch.autograd.graph.saved_tensors_hooks`` (unique storages). With checkpointing, autograd's own hooks
  take over inside each round, so this counts only what lives between rounds; ``peak_mb`` includes the
  recomputed round.

Ratios are within one run (same machine, same load). One torch thread by default: on the shared 2-core
development machine two OpenMP threads competing with other processes made every path 3-15x slower and
the timings meaningless; pass ``--threads`` on a dedicated machine. Results are printed and saved as JSON.

    python bench/bench_rrn.py                 # batch 8 -> bench/results/rrn.json
    python bench/bench_rrn.py --batch 16
    python bench/bench_rrn.py --tiny          # seconds, for CI -> bench/results/rrn_tiny.json
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import time
from pathlib import Path

import torch
from _common import run_worker
from torch import Tensor, nn

from skelgraph.data import complete_edge_index, node_line_features
from skelgraph.nn.arrn import ARRNLSTM
from skelgraph.nn.rrn import RRN

ROOT = Path(__file__).resolve().parents[1]
PATHS = ("fast", "edge", "per_frame")


def complete_graphs(S: int, J: int) -> Tensor:
    return complete_edge_index(J).repeat(1, S) + torch.arange(S).repeat_interleave(J * (J - 1)) * J


class PathRRN(nn.Module):
    """Calls a fitted :class:`RRN` through one of :data:`PATHS`, with the fast path's call signature."""

    def __init__(self, rrn: RRN, path: str) -> None:
        super().__init__()
        self.rrn, self.path = rrn, path

    def forward(self, x: Tensor, num_nodes_per_graph: int) -> Tensor:
        J = num_nodes_per_graph
        if self.path == "fast":
            return self.rrn(x, num_nodes_per_graph=J)
        edge_index = complete_graphs(x.size(0) // J, J)
        if self.path == "edge":
            return self.rrn(x, edge_index)
        return torch.stack([self.rrn(x[:, t], edge_index) for t in range(x.size(1))], dim=1)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def saved_bytes(step) -> int:
    storages: dict[int, int] = {}

    def pack(t: Tensor) -> Tensor:
        s = t.untyped_storage()
        storages[s.data_ptr()] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        step()
    return sum(storages.values())


def worker(spec: dict) -> dict:
    """Run one configuration (in its own process) and return its figures."""
    torch.manual_seed(0)
    torch.set_num_threads(spec["threads"])
    B, T, J, M, E = spec["batch"], spec["T"], spec["J"], spec["M"], spec["E"]
    if spec["kind"] == "layer":
        module = PathRRN(RRN(M, M, E=E, checkpoint=spec["checkpoint"]), spec["path"])
        x = torch.randn(B * J, T, M, requires_grad=True)

        def step() -> None:
            module(x, num_nodes_per_graph=J).square().mean().backward()

    else:
        small = dict(att_channels=32, lstm_sizes=(32, 32, 32)) if spec["small_lstm"] else {}
        model = ARRNLSTM.from_paper("ntu", T=T, M=M, E=E, checkpoint=spec["checkpoint"], **small)
        config = model.config
        for stream in model.streams.values():
            stream.rrn = PathRRN(stream.rrn, spec["path"])
        x = torch.randn(B * J, T, 3)
        data = _batch(x, B, J, config.num_classes)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)  # Section 4.1 for NTU

        def step() -> None:
            optimizer.zero_grad()
            model.training_loss(data).backward()
            optimizer.step()

    before = rss_mb()
    start = time.perf_counter()
    step()  # warm-up, also the memory measurement
    warm = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    times = []
    for _ in range(spec["repeats"]):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    saved = saved_bytes(step)
    t = statistics.median(times) if times else warm
    return dict(
        time_s=t,
        time_per_sample_ms=1000 * t / B,
        peak_mb=peak,
        peak_per_sample_mb=peak / B,
        saved_mb=saved / 2**20,
        saved_per_sample_mb=saved / 2**20 / B,
    )


def _batch(x: Tensor, B: int, J: int, K: int):
    from torch_geometric.data import Batch, Data

    graphs = []
    for b in range(B):
        xb = x[b * J : (b + 1) * J]
        graphs.append(Data(x=xb, x_line=node_line_features(xb, J), y=torch.tensor([b % K]),
                           num_frames=torch.tensor([x.size(1)]), num_nodes=J))
    return Batch.from_data_list(graphs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1, see the module docstring)")
    parser.add_argument("--tiny", action="store_true", help="small sizes, one repeat (seconds, for CI)")
    parser.add_argument("--skip-model", action="store_true", help="layer only")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--worker", type=str, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(json.loads(args.worker))))
        return

    sizes = dict(T=100, J=25, M=50, E=5, batch=args.batch, repeats=args.repeats)
    configs = [("layer", p, c) for p in PATHS for c in (False, True)]
    if not args.skip_model:
        configs += [("model", p, c) for p in PATHS for c in (False, True) if p != "per_frame" or not c]
    if args.tiny:
        sizes = dict(T=8, J=25, M=16, E=2, batch=2, repeats=1)
        configs = [c for c in configs if c[1] != "per_frame" and (c[0] == "layer" or c[1] == "fast")]
    threads = args.threads
    base = dict(sizes, threads=threads)
    results = []
    for kind, path, ckpt in configs:
        spec = dict(base, kind=kind, path=path, checkpoint=ckpt, small_lstm=args.tiny)
        name = f"{kind}/{path}{'+ckpt' if ckpt else ''}"
        res = run_worker(__file__, spec)
        results.append(dict(name=name, kind=kind, path=path, checkpoint=ckpt, **res))
        print(f"{name:24s} {res['time_s']:8.3f} s  {res['time_per_sample_ms']:9.1f} ms/sample  "
              f"peak {res['peak_per_sample_mb']:8.1f} MB/sample  saved {res['saved_per_sample_mb']:8.1f} MB/sample",
              flush=True)

    by_name = {r["name"]: r for r in results}
    ratios = {}
    for kind in ("layer", "model"):
        fast = by_name.get(f"{kind}/fast")
        if fast is None:
            continue
        for other in ("edge", "per_frame", "fast+ckpt", "edge+ckpt"):
            r = by_name.get(f"{kind}/{other}")
            if r is not None:
                ratios[f"{kind}: {other} time / fast time"] = r["time_s"] / fast["time_s"]
                ratios[f"{kind}: {other} peak / fast peak"] = r["peak_mb"] / max(fast["peak_mb"], 1e-9)
    for key, value in ratios.items():
        print(f"{key:40s} {value:6.2f}")
    report = dict(
        sizes=sizes,
        threads=threads,
        torch=torch.__version__,
        machine=platform.platform(),
        processor=platform.processor(),
        memory_method="peak: ru_maxrss during the warm-up step minus RSS before it, fresh process per row; "
        "saved: saved_tensors_hooks unique storage bytes",
        results=results,
        ratios=ratios,
    )
    out = args.out or ROOT / "bench" / "results" / ("rrn_tiny.json" if args.tiny else "rrn.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"saved {out}")


if __name__ == "__main__":
    main()
