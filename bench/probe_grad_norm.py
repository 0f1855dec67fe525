"""Gradient norms during a recipe's training, training data only (no validation or test figure).

    OMP_NUM_THREADS=1 python bench/probe_grad_norm.py --epochs 150 > probe_msr_arrn_as2_gradnorm.txt
    OMP_NUM_THREADS=1 python bench/probe_grad_norm.py --epochs 240 -- gca_lstm_sbu --model global2 --folds 0

runs the first inner fold of the recipe's inner cross-validation (default: ARRN-LSTM on MSR Action3D AS2, subject 1
held out; raw weights) with a clipping threshold so high that the engine's clipping call only measures the total
gradient norm, and prints per epoch the training loss and the median and largest norm of its optimiser steps.
"""

from __future__ import annotations

import argparse
import importlib
import tempfile

import torch
from _common import StopScreening, run_inner_cv_only

import skelgraph.training.engine as engine

NORMS: list[float] = []


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=150)
    p.add_argument("--subset", default="AS2", help="the MSR Action3D subset when no recipe is named")
    p.add_argument("recipe", nargs="?", default="arrn_msr", help="recipe module under skelgraph.recipes")
    p.add_argument("options", nargs=argparse.REMAINDER, help="the recipe's options")
    args = p.parse_args()
    options = list(args.options) or (["--subset", args.subset] if args.recipe == "arrn_msr" else [])
    measure = torch.nn.utils.clip_grad_norm_

    def recording(params, max_norm, *rest, **kwargs):
        norm = measure(params, max_norm, *rest, **kwargs)
        NORMS.append(float(norm))
        return norm

    class Probe(engine.Trainer):
        seen = 0

        def _end_of_epoch(self, record: dict) -> tuple[bool, bool]:
            out = super()._end_of_epoch(record)
            new, self.seen = NORMS[self.seen:], len(NORMS)
            print(record["epoch"], f"{record['train_loss']:.3f}", "norm median/max",
                  f"{sorted(new)[len(new) // 2]:.2f}", f"{max(new):.2f}", len(new), flush=True)
            if record["epoch"] >= args.epochs:
                raise StopScreening
            return out

    engine.nn.utils.clip_grad_norm_ = recording
    recipe = importlib.import_module(f"skelgraph.recipes.{args.recipe}")
    run_inner_cv_only(recipe.main, [*options, "--selection", "inner-cv", "--epochs", str(args.epochs + 1),
                                    "--grad-clip", "1e9", "--ema", "0", "--out", tempfile.mkdtemp(), "--no-progress"],
                      Probe)


if __name__ == "__main__":
    main()
