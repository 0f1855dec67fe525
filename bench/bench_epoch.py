"""Extrapolated time of one NTU RGB+D 60 cross-subject training epoch per model, from batches timed through Trainer.

Models (the recipes' NTU configurations, T = 100 frames, 60 classes, batch 32 as the recipes' default):

* ``arrn``: two-stream :class:`~skelgraph.nn.arrn.ARRNLSTM` (``ARRNLSTM.from_paper("ntu")``: M=50, E=5,
  LSTM 512/512/512);
* ``gca``: :class:`~skelgraph.nn.gca_lstm.GCALSTM` (N=2, hidden 128, NTU tree chain), direct training (every
  step runs both attention iterations; stepwise steps 0 and 1 run fewer);
* ``gca2``: :class:`~skelgraph.nn.gca_lstm.TwoStreamGCALSTM`, same sizes;
* ``st_lstm``: the two-layer ST-LSTM baseline, :class:`~skelgraph.nn.gca_lstm.STLSTMClassifier` (``"local"``).

The data are **synthetic**: random coordinates of the real shapes (25 NTU joints, raw lengths drawn in
[50, 150] frames), run through the recipes' training transform (centre joints, random sampling to T frames) by a
map-style dataset, so the timed loop is the real one: :meth:`skelgraph.training.engine.Trainer.train_epoch`
(PyG collation, forward, backward, SGD step; ``num_workers=0``). About 18 % of the samples have two bodies:
NTU-60's two-person actions are A050-A060, 11 of the 60 classes, and the classes are nearly balanced.

Every optimiser step is time-stamped (a step post-hook; on CUDA it synchronises first). The first ``--warmup``
batches are discarded; the epoch estimate is the measured time per skeleton times the skeletons of an epoch,
``40,091 x (1 + 11/60)`` (40,091 training samples of the cross-subject split once the samples with missing
skeletons are dropped), since the models' work grows with the number of skeletons (each body runs through the
network). Evaluation passes are not included.

Each model runs in a fresh process with ``--threads`` torch threads (default 1: the 2-core development machine
is shared with other jobs, two threads compete with them). ``--device cuda`` times the same loop on a GPU
(``--amp`` for bfloat16 autocast, as the recipes' ``--amp``); results go to ``epoch_cuda.json`` there.

    python bench/bench_epoch.py                    # CPU -> bench/results/epoch.json
    python bench/bench_epoch.py --device cuda      # GPU -> bench/results/epoch_cuda.json
    python bench/bench_epoch.py --tiny             # small sizes, seconds, for CI -> epoch_tiny.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from _common import run_worker
from torch import nn
from torch.utils.data import Dataset
from torch_geometric.data import Data

from skelgraph.data import SkeletonSequence, to_data
from skelgraph.nn.arrn import ARRNLSTM
from skelgraph.nn.gca_lstm import GCALSTM, STLSTMClassifier, TwoStreamGCALSTM
from skelgraph.nn.st_lstm import flush_denormals
from skelgraph.skeleton import NTU
from skelgraph.training.engine import TrainConfig, Trainer
from skelgraph.training.registry import build_transform, pipeline_spec

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("arrn", "gca", "gca2", "st_lstm")
#: NTU RGB+D 60 cross-subject training samples (40,320 listed, 229 without usable skeletons).
NTU60_XSUB_TRAIN = 40_091
#: Share of two-body samples: actions A050-A060 (11 of the 60 nearly balanced classes).
TWO_BODY_FRACTION = 11 / 60


class SyntheticNTU(Dataset):
    """``size`` random NTU-shaped samples, ``round(size * two_body)`` of them with two bodies (labels 49-59),
    passed through ``transform`` on every access like an InMemoryDataset."""

    def __init__(self, size: int, transform, two_body: float = TWO_BODY_FRACTION, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        num_two = round(size * two_body)
        self.items: list[Data] = []
        for i in range(size):
            bodies = 2 if i < num_two else 1
            frames = int(rng.integers(50, 151))
            label = int(rng.integers(49, 60)) if bodies == 2 else int(rng.integers(0, 49))
            coords = rng.normal(size=(frames, bodies, NTU.num_joints, 3)).astype(np.float32)
            self.items.append(to_data(SkeletonSequence(coords, NTU, label=label)))
        self.transform = transform

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Data:
        return self.transform(self.items[index].clone())

    def bodies(self, index: int) -> int:
        return int(self.items[index].num_bodies)


def build_model(name: str, T: int, tiny: bool) -> tuple[nn.Module, float]:
    """The model and the recipe's learning rate."""
    if name == "arrn":
        small = dict(M=16, E=2, att_channels=32, lstm_sizes=(32, 32, 32)) if tiny else {}
        return ARRNLSTM.from_paper("ntu", T=T, **small), 0.01
    H = 16 if tiny else 128
    if name == "st_lstm":
        return STLSTMClassifier(NTU, 60, head="local", num_frames=T, hidden_channels=H), 1.5e-3
    cls = TwoStreamGCALSTM if name == "gca2" else GCALSTM
    return cls(NTU, 60, num_frames=T, hidden_channels=H), 1.5e-3


def worker(spec: dict) -> dict:
    """Time ``warmup + batches`` training batches of one model (in its own process)."""
    torch.manual_seed(0)
    torch.set_num_threads(spec["threads"])
    flush_denormals()  # as the training engine does on CPU
    B, T = spec["batch"], spec["T"]
    model, lr = build_model(spec["model"], T, spec["tiny"])
    dataset = SyntheticNTU((spec["warmup"] + spec["batches"]) * B, build_transform(pipeline_spec("ntu", T),
                                                                                     train=True))
    config = TrainConfig(epochs=1, batch_size=B, lr=lr, momentum=0.9, device=spec["device"], amp=spec["amp"],
                         progress=False)
    trainer = Trainer(model, dataset, config=config)
    cuda = trainer.device.type == "cuda"
    stamps: list[float] = []

    def stamp(*_) -> None:
        if cuda:
            torch.cuda.synchronize()
        stamps.append(time.perf_counter())

    trainer.optimizer.register_step_post_hook(stamp)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    stamp()
    trainer.train_epoch()
    order = list(trainer.train_sampler)  # the epoch's sample order (a function of seed and epoch)
    times = np.diff(stamps)
    skeletons = [sum(dataset.bodies(i) for i in order[k * B : (k + 1) * B]) for k in range(len(times))]
    measured = slice(spec["warmup"], None)
    per_skeleton = float(times[measured].sum() / sum(skeletons[measured]))
    epoch_skeletons = NTU60_XSUB_TRAIN * (1 + TWO_BODY_FRACTION)
    return dict(
        batch_s=times.tolist(),
        batch_skeletons=skeletons,
        time_per_batch_s=float(times[measured].mean()),
        time_per_skeleton_ms=1000 * per_skeleton,
        epoch_s=per_skeleton * epoch_skeletons,
        batches_per_epoch=math.ceil(NTU60_XSUB_TRAIN / B),
        peak_gpu_mb=torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
        device_name=torch.cuda.get_device_name() if cuda else platform.processor() or platform.machine(),
    )


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--amp", action="store_true", help="bfloat16 autocast (CUDA only, as the recipes)")
    parser.add_argument("--batch", type=int, default=32, help="samples per batch (the recipes' default 32)")
    parser.add_argument("--batches", type=int, default=None, help="timed batches (default 2 on CPU, 20 on CUDA)")
    parser.add_argument("--warmup", type=int, default=None, help="discarded batches (default 1 on CPU, 3 on CUDA)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1, see the module docstring)")
    parser.add_argument("--tiny", action="store_true", help="small sizes, one timed batch (seconds, for CI)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--worker", type=str, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(json.loads(args.worker))))
        return

    cuda = args.device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available")
    batches = args.batches or (20 if cuda else 2)
    warmup = args.warmup if args.warmup is not None else (3 if cuda else 1)
    base = dict(T=100, batch=args.batch, batches=batches, warmup=warmup, tiny=False)
    if args.tiny:
        base = dict(T=6, batch=4, batches=1, warmup=1, tiny=True)
    base.update(device=args.device, amp=args.amp, threads=args.threads)
    suffix = "_tiny" if args.tiny else ("_cuda" if cuda else "")
    out = args.out or ROOT / "bench" / "results" / f"epoch{suffix}.json"
    print(f"torch {torch.__version__}, device {args.device}, {args.threads} thread(s), batch {base['batch']}, "
          f"{base['warmup']} warm-up + {base['batches']} timed batches, synthetic NTU-shaped data", flush=True)
    print(f"{'model':8s} {'s/batch':>8s} {'ms/skeleton':>11s} {'epoch':>9s}", flush=True)
    rows = []
    for name in args.models:
        spec = dict(base, model=name)
        res = worker(spec) if args.tiny else run_worker(__file__, spec)  # tiny: in-process, to stay fast
        rows.append(dict(model=name, **res))
        print(f"{name:8s} {res['time_per_batch_s']:8.3f} {res['time_per_skeleton_ms']:11.1f} "
              f"{_duration(res['epoch_s']):>9s}", flush=True)
    result = dict(
        torch=torch.__version__,
        machine=platform.platform(),
        device=args.device,
        device_name=rows[0]["device_name"] if rows else None,
        cpu_count=os.cpu_count(),
        threads=args.threads,
        load_average=os.getloadavg(),
        data="synthetic: random NTU-shaped samples through the recipes' training transform",
        epoch_samples=NTU60_XSUB_TRAIN,
        two_body_fraction=TWO_BODY_FRACTION,
        sizes={k: base[k] for k in ("T", "batch", "batches", "warmup", "amp")},
        rows=rows,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"saved {out}")


if __name__ == "__main__":
    main()
