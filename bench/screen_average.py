"""Screening on training data only: inner cross-validation curves of the raw weights and of weight averages
(exponential moving averages with several time constants) from the same training runs.

    OMP_NUM_THREADS=1 python bench/screen_average.py --horizons 2 5 10 --save NAME -- \\
        gca_lstm_sbu --folds 0 --selection inner-cv --epochs 60

runs the recipe's inner cross-validation (``--selection inner-cv`` of the recipe named after ``--``) and stops
before the final run on the whole training split: no test data is read. Every training step also updates one
average per ``--horizons`` value (time constant in epochs, as ``--ema``), and after every epoch each average is
validated on the inner fold's held-out group. The result (``bench/results/accuracy/NAME.json``) holds, per
variant (``raw``, ``ema2``, ...), the inner folds' curves, the smoothed mean curve's peak (the inner-CV value
that ``--selection inner-cv`` picks the budget by), its epoch, and the mean of the last 5 epochs; for the
two-stream ARRN-LSTM also the fused accuracy with alpha chosen on the pooled validation scores.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import torch
from _common import run_inner_cv_only

import skelgraph.training.engine as engine
from skelgraph.nn.arrn import select_alpha
from skelgraph.training.experiment import stream_scores
from skelgraph.training.selection import choose_epoch

HORIZONS: list[float] = []
TRAINERS: list[ScreeningTrainer] = []


class ScreeningTrainer(engine.Trainer):
    """A Trainer that also keeps one weight average per horizon and validates each after every epoch."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.averages = {h: {k: v.detach().clone() for k, v in self._float_state().items()} for h in HORIZONS}
        self.steps = 0
        self.scores: dict[str, list] = {}
        TRAINERS.append(self)

    def _update_ema(self) -> None:
        super()._update_ema()
        self.steps += 1
        live = self._float_state()
        for h, avg in self.averages.items():
            decay = min(math.exp(-1.0 / (h * max(1, len(self.train_loader)))), self.steps / (self.steps + 1))
            with torch.no_grad():
                torch._foreach_lerp_(list(avg.values()), [live[k].detach() for k in avg], 1.0 - decay)

    def _variant(self, name: str, record: dict) -> None:
        if hasattr(self.model, "stream_logits") and len(getattr(self.model, "streams", {})) == 2:
            # One pass gives both streams; the fused accuracy at the model's alpha is what val_top1 logs.
            j, line, y = stream_scores(self, self.val_set)
            self.scores.setdefault(name, []).append((j, line, y))
            a = float(self.model.alpha)
            record[f"val_top1_{name}"] = float(((a * j.softmax(-1) + (1 - a) * line.softmax(-1)).argmax(-1) == y)
                                               .float().mean())
        else:
            record[f"val_top1_{name}"] = self.evaluate(self.val_set, terms=False).compute()["top1"]

    def _end_of_epoch(self, record: dict) -> tuple[bool, bool]:
        out = super()._end_of_epoch(record)
        self._variant("raw", record)
        live = self._float_state()
        saved = {k: v.detach().clone() for k, v in live.items()}
        for h, avg in self.averages.items():
            with torch.no_grad():
                for k, v in avg.items():
                    live[k].copy_(v)
            self._variant(f"ema{h:g}", record)
        with torch.no_grad():
            for k, v in saved.items():
                live[k].copy_(v)
        return out


def summarise(window: int) -> dict:
    names = ["raw"] + [f"ema{h:g}" for h in HORIZONS]
    sizes = [len(t.val_set) for t in TRAINERS]
    out = {}
    for name in names:
        curves = [[r[f"val_top1_{name}"] for r in t.state.history] for t in TRAINERS]
        choice = choose_epoch(curves, sizes, window)
        mean = choice["mean_curve"]
        row = {"inner_cv_value": choice["value"], "epoch": choice["epoch"],
               "last5_mean": sum(mean[-5:]) / len(mean[-5:]), "mean_curve": mean, "curves": curves}
        if all(name in t.scores for t in TRAINERS):
            e = choice["epoch"] - 1
            j = torch.cat([t.scores[name][e][0] for t in TRAINERS])
            line = torch.cat([t.scores[name][e][1] for t in TRAINERS])
            y = torch.cat([t.scores[name][e][2] for t in TRAINERS])
            alpha = select_alpha(j, line, y)
            row["alpha"] = alpha
            for a, key in ((alpha, "fused_top1_chosen_alpha"), (0.5, "fused_top1_alpha_0.5"), (1.0, "joint_top1"),
                           (0.0, "line_top1")):
                fused = (a * j.softmax(-1) + (1 - a) * line.softmax(-1)).argmax(-1)
                row[key] = float((fused == y).float().mean())
        out[name] = row
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--horizons", type=float, nargs="+", default=[2.0, 5.0, 10.0])
    p.add_argument("--save", required=True, help="name of the JSON file under bench/results/accuracy/")
    p.add_argument("--smooth", type=int, default=5)
    p.add_argument("--results", type=Path, default=Path(__file__).parent / "results" / "accuracy",
                   help="folder of the JSON file")
    p.add_argument("recipe", help="recipe module under skelgraph.recipes, then its options")
    p.add_argument("options", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    HORIZONS[:] = args.horizons
    module = importlib.import_module(f"skelgraph.recipes.{args.recipe}")
    started = time.perf_counter()
    # "raw" means the raw weights: the recipe's own average (a default of some recipes) is turned off last, so
    # that it wins over the recipe's defaults and the options; the averages are the screen's own.
    run_inner_cv_only(module.main, args.options + ["--ema", "0", "--out", tempfile.mkdtemp(prefix="screen_"),
                                                   "--no-progress"], ScreeningTrainer)
    result = {"command": " ".join(["python bench/screen_average.py", *(sys.argv[1:] if argv is None else argv)]),
              "minutes": (time.perf_counter() - started) / 60, "variants": summarise(args.smooth),
              "note": "inner cross-validation on the training split only; no test data was read"}
    path = args.results / f"{args.save}.json"
    path.write_text(json.dumps(result, indent=1))
    for name, row in result["variants"].items():
        extra = "".join(f", {k} {row[k]:.2%}" for k in ("fused_top1_chosen_alpha", "fused_top1_alpha_0.5",
                                                        "joint_top1", "line_top1") if k in row)
        print(f"{name}: inner-CV value {row['inner_cv_value']:.2%} at epoch {row['epoch']}, "
              f"last-5 mean {row['last5_mean']:.2%}{extra}" + (f", alpha {row['alpha']:.2f}" if "alpha" in row else ""))


if __name__ == "__main__":
    main()
