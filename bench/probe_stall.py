"""Where a stalled ARRN-LSTM stream is stuck: per epoch, the training loss, every module's share of the gradient,
and what the stream's layers put out. Training data only (the recipe runs with ``--no-monitor-test``; no validation
or test figure is read).

    OMP_NUM_THREADS=1 python bench/probe_stall.py --epochs 70 -- --stream joint --subset AS1 --seed 2

runs ``recipes/arrn_msr.py`` with the options after ``--`` and prints one line per epoch: the loss; the median over
the epoch's optimiser steps of the gradient norm of each module group (embedding, RRN, mask, attention FC, each
LSTM layer, classifier), measured before clipping; and, over the epoch's batches, the standard deviation of the
classifier's logits across samples (0: every sample gets the same scores, a loss of ln K), the attention FC's
output scale, and the fraction of each LSTM layer's outputs whose magnitude exceeds 0.95 (saturated tanh).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections import defaultdict

import torch
from _common import StopScreening

import skelgraph.training.experiment as experiment
from skelgraph.nn.arrn import ARRNStream
from skelgraph.recipes import arrn_msr

GROUPS = ("embed", "rrn", "mask", "att", "lstms.0", "lstms.1", "lstms.2", "classifier")


def group_of(name: str) -> str:
    """The module group of a parameter name such as ``joint.lstms.1.weight_hh_l0``."""
    parts = name.split(".")
    for i in range(len(parts)):
        key = ".".join(parts[i:i + 2]) if parts[i] == "lstms" else parts[i]
        if key in GROUPS:
            return key
    return "other"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=70)
    p.add_argument("options", nargs=argparse.REMAINDER, help="arrn_msr's options, after --")
    args = p.parse_args()
    options = [o for o in args.options if o != "--"]

    norms: dict[str, list[float]] = defaultdict(list)
    acts: dict[str, list[float]] = defaultdict(list)
    measure = torch.nn.utils.clip_grad_norm_
    model_ref: list[torch.nn.Module] = []

    def recording(params, max_norm, *rest, **kwargs):
        sums: dict[str, float] = defaultdict(float)
        for name, q in model_ref[0].named_parameters():
            if q.grad is not None:
                sums[group_of(name)] += float(q.grad.detach().pow(2).sum())
        for g, s in sums.items():
            norms[g].append(s ** 0.5)
        return measure(params, max_norm, *rest, **kwargs)

    torch.nn.utils.clip_grad_norm_ = recording

    def hooks(stream: ARRNStream) -> None:
        if stream.att is not None:
            stream.att.register_forward_hook(lambda m, i, o: acts["att_std"].append(float(o.detach().std())))
        for k, lstm in enumerate(stream.lstms):
            lstm.register_forward_hook(
                lambda m, i, o, k=k: acts[f"sat{k}"].append(float((o[0].detach().abs() > 0.95).float().mean())))
        stream.classifier.register_forward_hook(
            lambda m, i, o: acts["logit_std"].append(float(o.detach().std(0).mean())))

    class Probe(experiment.Trainer):
        def __init__(self, model, *a, **kw):
            super().__init__(model, *a, **kw)
            model_ref.append(self.model)
            for m in self.model.modules():
                if isinstance(m, ARRNStream):
                    hooks(m)

        def _end_of_epoch(self, record: dict) -> tuple[bool, bool]:
            cells = [f"{record['epoch']:3d} loss {record['train_loss']:.3f}"]
            cells += [f"{g} {statistics.median(norms[g]):.2e}" for g in GROUPS if norms.get(g)]
            cells += [f"{k} {statistics.mean(v):.3g}" for k, v in sorted(acts.items())]
            print(" | ".join(cells), flush=True)
            norms.clear()
            acts.clear()
            if record["epoch"] >= args.epochs:
                raise StopScreening
            return super()._end_of_epoch(record)

    experiment.Trainer = Probe
    with tempfile.TemporaryDirectory() as tmp:
        try:
            arrn_msr.main([*options, "--no-monitor-test", "--keep", "none", "--out", tmp, "--quiet"])
        except StopScreening:
            pass


if __name__ == "__main__":
    sys.exit(main())
