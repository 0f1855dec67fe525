"""Achieved FLOP rate of one training step of each model, as a fraction of this machine's large-GEMM rate.

Models, at the papers' NTU RGB+D sizes (one body per sample, synthetic random inputs of the right shapes):

* ``arrn``: two-stream :class:`~skelgraph.nn.arrn.ARRNLSTM`, ``ARRNLSTM.from_paper("ntu")`` (T=100, J=25, M=50,
  E=5, LSTM 512/512/512, 60 classes), batch 8;
* ``gca``: :class:`~skelgraph.nn.gca_lstm.GCALSTM` (N=2, hidden 128, NTU tree chain of 49 positions, T=100),
  batch 32;
* ``gca2``: :class:`~skelgraph.nn.gca_lstm.TwoStreamGCALSTM`, same sizes, batch 32.

A training step is ``zero_grad``, ``training_loss(data).backward()`` and an SGD step (momentum 0.9, as the
recipes). Its FLOPs are counted analytically (:func:`arrn_flops`, :func:`gca_flops`: one formula per component,
2 FLOPs per multiply-add, matrix products only; elementwise work is not counted) in two ways:

* ``model``: the work the model needs: forward products, and a backward of twice the forward (input and
  weight gradients) for every product whose input needs a gradient, once the forward (weight gradient only)
  for those whose input is data;
* ``executed``: what the code actually runs: the RRN fast path recomputes its pairwise hidden layer in the
  backward pass (3x forward there instead of 2x) and the ST-LSTM wavefront runs its input projection and
  its gradients over the padded rows of its plan.

The executed count is cross-checked against :class:`torch.utils.flop_counter.FlopCounterMode` over one step,
forward and backward separately. FlopCounterMode has no formula for the oneDNN LSTM kernel
(``mkldnn_rnn_layer``) that ``nn.LSTM`` uses on CPU, for the in-place ``addmm_`` of the ST-LSTM recurrences, nor
for matrix-vector products, so the comparison is against the analytic count without those (both figures are
reported).

The GEMM rate is the best of several float32 ``2048 x 2048`` matrix products in the same process and thread
count, measured between the model steps so both see the same machine load. The achieved fraction is
``model FLOPs / best step time / GEMM rate``; wall time and process CPU time are both recorded (with one thread,
CPU time excludes the time the process waited for a core on a shared machine). A short ``torch.profiler`` CPU
profile of one step (top operators by self time, and the share of self time spent in matrix products) shows
where the rest goes; it is printed and saved next to the JSON (``<out>_profile.txt``).

Each (model, threads) runs in a fresh process. Default threads 1 and 2: the 2-core development machine is
shared with other jobs, so two threads compete with them and one thread is the more stable figure.

    python bench/bench_flops.py                    # -> bench/results/flops.json, flops_profile.txt
    python bench/bench_flops.py --threads 1        # one thread only
    python bench/bench_flops.py --tiny             # small sizes, seconds, for CI -> flops_tiny.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import torch
from _common import run_worker
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from torch_geometric.data import Batch, Data

from skelgraph.nn.arrn import ARRNLSTM, ARRNConfig
from skelgraph.nn.gca_lstm import GCALSTM, TwoStreamGCALSTM
from skelgraph.nn.st_lstm import flush_denormals, wavefront_plan
from skelgraph.skeleton import BODY_PARTS, NTU

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("arrn", "gca", "gca2")
#: Profiler operators that are matrix products (the oneDNN LSTM kernels are mostly their gate products).
GEMM_OPS = ("aten::addmm", "aten::mm", "aten::bmm", "aten::baddbmm", "aten::addmm_", "aten::mkldnn_rnn_layer",
            "aten::mkldnn_rnn_layer_backward")


class Count:
    """Analytic FLOPs per component: forward, and backward as the model needs it and as executed."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, float]] = {}

    def add(self, component: str, forward: float, backward: float, backward_executed: float | None = None,
            forward_executed: float | None = None, uncounted: float = 0.0) -> None:
        """``uncounted``: executed FLOPs of kernels :class:`FlopCounterMode` has no formula for."""
        row = self.rows.setdefault(component, dict(forward=0.0, backward=0.0, forward_executed=0.0,
                                                   backward_executed=0.0, uncounted_executed=0.0))
        row["forward"] += forward
        row["backward"] += backward
        row["forward_executed"] += forward if forward_executed is None else forward_executed
        row["backward_executed"] += backward if backward_executed is None else backward_executed
        row["uncounted_executed"] += uncounted

    def linear(self, component: str, rows: float, fan_in: int, fan_out: int, input_grad: bool = True,
               counted: bool = True) -> None:
        """A product of ``rows`` vectors of ``fan_in`` with a ``fan_out x fan_in`` weight."""
        f = 2.0 * rows * fan_in * fan_out
        b = 2 * f if input_grad else f
        self.add(component, f, b, uncounted=0.0 if counted else f + b)

    def total(self, key: str) -> float:
        return sum(r[key] for r in self.rows.values())

    def summary(self) -> dict:
        model = self.total("forward") + self.total("backward")
        executed = self.total("forward_executed") + self.total("backward_executed")
        return dict(
            components=self.rows,
            model_flops=model,
            executed_flops=executed,
            forward_executed=self.total("forward_executed"),
            backward_executed=self.total("backward_executed"),
            flop_counter_visible_executed=executed - self.total("uncounted_executed"),
        )


def arrn_flops(config: ARRNConfig, S: int) -> Count:
    """FLOPs of one ARRN-LSTM training step on ``S`` skeletons (every stream of ``config``)."""
    c = Count()
    T, J, M, K = config.T, config.num_joints, config.M, config.num_classes
    Hm = M  # RRN message width (hidden_channels defaults to the state size)
    G = S * T  # graphs: one per frame of every skeleton
    for stream in config.streams:
        C = 3 if stream == "joint" else 3 * (J - 1)
        c.linear("embed", S * J * T, C, M, input_grad=False)  # Eq. (1) / (3): input is data
        for _ in range(config.E):
            # Eq. (5), fast path: L1 split into per-node halves A h_i and B h_j.
            c.linear("rrn.message_first", 2 * G * J, M, Hm)
            for _ in range(config.message_layers - 2):
                # Pairwise hidden layer over all J^2 pairs (j = i included); the fused backward recomputes it.
                f = 2.0 * G * J * J * Hm * Hm
                c.add("rrn.message_pairwise", f, 2 * f, backward_executed=3 * f)
                c.linear("rrn.message_self", G * J, Hm, Hm)  # the j = i term, removed per node
            c.linear("rrn.message_last", G * J, Hm, Hm)  # L_n after the sum over j (Eq. 6)
            c.linear("rrn.gru", G * J, M + Hm, 3 * M)  # Eq. (7): W_ih [v; m]
            c.linear("rrn.gru", G * J, M, 3 * M)  # W_hh h
        c.linear("att", S * T, J * M, config.att_channels)  # Eq. (9)
        sizes = (config.att_channels, *config.lstm_sizes)
        for a, b in zip(sizes[:-1], sizes[1:]):
            c.linear("lstm", S * T, a + b, 4 * b, counted=False)  # Eq. (10): oneDNN kernel
        c.linear("classifier", S, config.lstm_sizes[-1], K)  # Eq. (11)
    return c


def _st_lstm(c: Count, component: str, S: int, L: int, T: int, C: int, H: int, input_grad: bool) -> None:
    """One ST-LSTM layer (Eq. 1): per cell ``5H x (C + 2H)``; executed as the wavefront of ``st_lstm.py``."""
    cells = L * T
    R = wavefront_plan(L, T).num_rows  # padded rows: the input projection and its gradients run over them
    fwd = 2.0 * S * cells * 5 * H * (C + 2 * H)
    projection = 2.0 * S * R * 5 * H * C  # all cells' inputs in one product
    recurrent = 2.0 * S * cells * 5 * H * 2 * H  # per diagonal: h_{j-1,t} and h_{j,t-1}, in-place addmm_
    recurrent_grad = 2.0 * S * (cells - 1) * 5 * H * 2 * H  # the same back (the last cell has no successor)
    recurrent_weight_grads = 2.0 * S * cells * 5 * H * 2 * H  # per diagonal, in-place addmm_
    input_weight_grad = 2.0 * S * R * 5 * H * C  # one product (the bias gradient is a sum)
    input_grads = 2.0 * S * R * 5 * H * C if input_grad else 0.0
    bwd = fwd + 2.0 * S * cells * 5 * H * 2 * H + (2.0 * S * cells * 5 * H * C if input_grad else 0.0)
    # FlopCounterMode has no formula for the in-place aten.addmm_ of the recurrences and weight gradients.
    c.add(component, fwd, bwd,
          backward_executed=recurrent_grad + recurrent_weight_grads + input_weight_grad + input_grads,
          forward_executed=projection + recurrent, uncounted=recurrent + recurrent_grad + recurrent_weight_grads)


def _attention_stream(c: Count, name: str, S: int, L: int, T: int, H: int, N: int, K: int, rows: int) -> None:
    c.linear(f"{name}.init_memory", S, L * T * H, H)  # IF(0): feed-forward over all first-layer states
    A = H
    for _ in range(N):
        c.linear(f"{name}.score", S * rows * T, H, A)  # Eq. (5): W_e2 h
        c.linear(f"{name}.score", S, H, A)  # W_e2 IF, once per sequence
        c.linear(f"{name}.score", S * rows * T, A, 1, counted=False)  # W_e1 tanh(.): a matrix-vector product
        _st_lstm(c, f"{name}.st_lstm2", S, L, T, H, H, input_grad=True)  # Eq. (7)
        c.linear(f"{name}.refine", S, 2 * H, H)  # Eq. (8)
    c.linear(f"{name}.classifier", S, H, K)  # Eq. (9)


def gca_flops(S: int, T: int, H: int, N: int, K: int, two_stream: bool) -> Count:
    """FLOPs of one (two-stream) GCA-LSTM training step on ``S`` skeletons (NTU tree chain)."""
    c = Count()
    L = NTU.chain("tree").numel()
    _st_lstm(c, "st_lstm1", S, L, T, 3, H, input_grad=False)  # first layer on coordinates
    _attention_stream(c, "fine" if two_stream else "stream", S, L, T, H, N, K, rows=L)
    if two_stream:
        _attention_stream(c, "coarse", S, L, T, H, N, K, rows=len(BODY_PARTS))
    return c


def ntu_batch(B: int, T: int, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    J = NTU.num_joints
    return Batch.from_data_list([
        Data(x=torch.randn(J, T, 3, generator=g), y=torch.tensor([b % 60]), num_frames=torch.tensor([T]),
             num_nodes=J) for b in range(B)
    ])


def build(spec: dict) -> tuple[nn.Module, Count]:
    B, T = spec["batch"], spec["T"]
    if spec["model"] == "arrn":
        model = ARRNLSTM.from_paper("ntu", T=T, **spec.get("arrn", {}))
        return model, arrn_flops(model.config, B)
    H, N = spec["hidden"], 2
    cls = TwoStreamGCALSTM if spec["model"] == "gca2" else GCALSTM
    return cls(NTU, 60, num_frames=T, hidden_channels=H, num_iterations=N), gca_flops(
        B, T, H, N, 60, two_stream=spec["model"] == "gca2")


def gemm_rate(n: int, repeats: int) -> tuple[float, float]:
    """Best FLOP/s of ``repeats`` float32 ``n x n`` products, per wall second and per CPU second."""
    a, b, out = torch.randn(n, n), torch.randn(n, n), torch.empty(n, n)
    torch.mm(a, b, out=out)
    times = [_timed(lambda: torch.mm(a, b, out=out)) for _ in range(repeats)]
    return 2.0 * n**3 / min(t[0] for t in times), 2.0 * n**3 / max(min(t[1] for t in times), 1e-9)


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def flop_counter_step(step: Callable[[], torch.Tensor]) -> dict:
    """FlopCounterMode totals of the forward and of the backward, and forward FLOPs per module."""
    with FlopCounterMode(display=False, depth=3) as fwd:
        loss = step()
    with FlopCounterMode(display=False) as bwd:
        loss.backward()
    per_module = {k: sum(v.values()) for k, v in fwd.get_flop_counts().items() if k != "Global"}
    return dict(forward=fwd.get_total_flops(), backward=bwd.get_total_flops(), forward_per_module=per_module)


def profile_step(step: Callable[[], None], rows: int) -> dict:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        wall = _timed(step)[0]
    events = prof.key_averages()
    self_us = {e.key: e.self_cpu_time_total for e in events}
    total = sum(self_us.values())
    gemm = sum(v for k, v in self_us.items() if k in GEMM_OPS)
    top = sorted(self_us.items(), key=lambda kv: -kv[1])[:rows]
    return dict(
        wall_s=wall,
        self_cpu_s=total / 1e6,
        gemm_self_s=gemm / 1e6,
        gemm_share=gemm / total if total else 0.0,
        top_ops=[dict(op=k, self_s=v / 1e6, share=v / total) for k, v in top],
        table=events.table(sort_by="self_cpu_time_total", row_limit=rows),
    )


def worker(spec: dict) -> dict:
    """One (model, threads) configuration, in its own process."""
    torch.manual_seed(0)
    torch.set_num_threads(spec["threads"])
    flush_denormals()  # as the training engine does on CPU
    model, count = build(spec)
    model.train()
    data = ntu_batch(spec["batch"], spec["T"])
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

    def loss() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        return model.training_loss(data)

    def step() -> None:
        loss().backward()
        optimizer.step()

    counted = flop_counter_step(loss)  # also the warm-up
    optimizer.step()
    rates, walls, cpus = [], [], []
    for _ in range(spec["repeats"]):  # alternate so both see the same load
        rates.append(gemm_rate(spec["gemm"], spec["gemm_repeats"]))
        wall, cpu = _timed(step)
        walls.append(wall)
        cpus.append(cpu)
    rates.append(gemm_rate(spec["gemm"], spec["gemm_repeats"]))
    flops = count.summary()
    best_gemm, best_gemm_cpu = max(r[0] for r in rates), max(r[1] for r in rates)
    best_wall, best_cpu = min(walls), min(cpus)
    out = dict(
        flops=flops,
        flop_counter=counted,
        gemm_rates=[r[0] for r in rates],
        gemm_rate=best_gemm,
        gemm_rate_cpu_time=best_gemm_cpu,
        step_wall_s=walls,
        step_cpu_s=cpus,
        best_step_wall_s=best_wall,
        best_step_cpu_s=best_cpu,
        model_rate=flops["model_flops"] / best_wall,
        executed_rate=flops["executed_flops"] / best_wall,
        fraction=flops["model_flops"] / best_wall / best_gemm,
        fraction_executed=flops["executed_flops"] / best_wall / best_gemm,
        # Per CPU second (summed over threads), for the step and the GEMM alike: with one thread, the rates
        # while the process held a core.
        fraction_cpu_time=flops["model_flops"] / best_cpu / best_gemm_cpu,
        num_parameters=sum(p.numel() for p in model.parameters()),
    )
    if spec["profile"]:
        prof = profile_step(step, spec["profile_rows"])
        prof["gemm_rate_in_gemm_ops"] = flops["executed_flops"] / max(prof["gemm_self_s"], 1e-12)
        out["profile"] = prof
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="torch thread counts, one run each (default 1 2; see the module docstring)")
    parser.add_argument("--repeats", type=int, default=3, help="timed steps (the best is kept)")
    parser.add_argument("--arrn-batch", type=int, default=8)
    parser.add_argument("--gca-batch", type=int, default=32)
    parser.add_argument("--tiny", action="store_true", help="small sizes, one repeat (seconds, for CI)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--worker", type=str, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(json.loads(args.worker))))
        return

    if args.tiny:
        base = dict(T=6, hidden=16, arrn=dict(M=16, E=2, att_channels=32, lstm_sizes=(32, 32, 32)), repeats=1,
                    gemm=256, gemm_repeats=2, profile_rows=8)
        batches = dict(arrn=2, gca=2, gca2=2)
        threads = [1]
    else:
        base = dict(T=100, hidden=128, repeats=args.repeats, gemm=2048, gemm_repeats=3, profile_rows=15)
        batches = dict(arrn=args.arrn_batch, gca=args.gca_batch, gca2=args.gca_batch)
        threads = args.threads
    out = args.out or ROOT / "bench" / "results" / ("flops_tiny.json" if args.tiny else "flops.json")
    print(f"torch {torch.__version__}, {os.cpu_count()} CPU(s), {platform.processor() or platform.machine()}; "
          f"threads {threads}; GEMM float32 {base['gemm']}^2", flush=True)
    print(f"{'model':6s} {'thr':>3s} {'batch':>5s} {'model GF':>9s} {'exec GF':>9s} {'FlopCtr GF':>10s} "
          f"{'step s':>7s} {'GF/s':>7s} {'GEMM GF/s':>9s} {'fraction':>8s} {'exec':>6s} {'cpu-time':>8s}", flush=True)
    rows, profiles = [], []
    for n_threads in threads:
        for name in args.models:
            spec = dict(base, model=name, batch=batches[name], threads=n_threads, profile=n_threads == threads[0])
            res = worker(spec) if args.tiny else run_worker(__file__, spec)  # tiny: in-process, to stay fast
            f, fc = res["flops"], res["flop_counter"]
            print(f"{name:6s} {n_threads:3d} {spec['batch']:5d} {f['model_flops'] / 1e9:9.1f} "
                  f"{f['executed_flops'] / 1e9:9.1f} {(fc['forward'] + fc['backward']) / 1e9:10.1f} "
                  f"{res['best_step_wall_s']:7.2f} {res['model_rate'] / 1e9:7.1f} {res['gemm_rate'] / 1e9:9.1f} "
                  f"{res['fraction']:8.1%} {res['fraction_executed']:6.1%} {res['fraction_cpu_time']:8.1%}", flush=True)
            if "profile" in res:
                p = res.pop("profile")
                profiles.append((f"{name}, {n_threads} thread(s), batch {spec['batch']}", p))
                res["profile"] = {k: v for k, v in p.items() if k != "table"}
            rows.append(dict(model=name, threads=n_threads, batch=spec["batch"], **res))

    lines = []
    for title, p in profiles:
        lines += [f"== {title}: one training step under torch.profiler: wall {p['wall_s']:.2f} s, self CPU "
                  f"{p['self_cpu_s']:.2f} s, matrix products {p['gemm_share']:.1%} of self time, running at "
                  f"{p['gemm_rate_in_gemm_ops'] / 1e9:.1f} GFLOP/s (executed FLOPs / their self time)", p["table"]]
    profile_text = "\n".join(lines)
    print(profile_text)
    result = dict(
        torch=torch.__version__,
        machine=platform.platform(),
        processor=platform.processor(),
        cpu_count=os.cpu_count(),
        load_average=os.getloadavg(),
        data="synthetic random inputs of the NTU shapes, one body per sample",
        flop_convention="2 FLOPs per multiply-add, matrix products only; model: backward = 2x forward "
        "(1x where the input is data); executed: as run (RRN pairwise recompute, ST-LSTM padded rows)",
        gemm=f"float32 {base['gemm']}x{base['gemm']} torch.mm, best of {base['gemm_repeats']} per measurement",
        sizes={k: v for k, v in base.items() if k in ("T", "hidden", "arrn")},
        rows=rows,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    profile_path = out.with_name(out.stem + "_profile.txt")
    profile_path.write_text(profile_text + "\n")
    print(f"saved {out} and {profile_path.name}")


if __name__ == "__main__":
    main()
