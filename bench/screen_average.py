"""Screening on training data only: inner cross-validation curves of the raw weights and of weight averages
(exponential moving averages with several time constants) from the same training runs.

    OMP_NUM_THREADS=1 python bench/screen_average.py --horizons 2 5 10 --save NAME -- \\
        gca_lstm_sbu --folds 0 --selection inner-cv --epochs 60

runs the recipe's inner cross-validation (``--selection inner-cv`` of the recipe named after ``--``) and stops
before the final run on the whole training split: no test data is read. Every training step also updates one
average per ``--horizons`` value (time constant in epochs, as ``--ema``), and after every epoch each average is
validated on the inner fold's held-out group. The result (``bench/results/accuracy/NAME.json``) holds, per
variant (``raw``, ``ema2``, ...), the inner folds' curves, the smoothed mean curve's peak (the inner-CV value
that ``--selection inner-cv`` picks the budget by), its epoch, and the mean of the last 5 epochs (for the
two-stream ARRN-LSTM also the fused accuracy with alpha chosen on the pooled validation scores); ``train_loss``
holds every inner fold's training loss per epoch (of the raw weights: how far training got at a budget).

The inner folds are independent runs, so they can run side by side (several cores, or processes sharing a GPU):
``--inner-fold I`` runs only the I-th inner fold (0-based, in the recipe's order) and saves ``NAME.part<I>.json``
(curves and, for ARRN-LSTM, per-epoch stream scores); ``--merge K`` then reads ``NAME.part0..K-1.json`` and
writes ``NAME.json`` exactly as a sequential run would have (the same training runs, the same summary):

    for i in 0 1 2 3 4; do OMP_NUM_THREADS=1 python bench/screen_average.py --inner-fold $i --save NAME -- \\
        arrn_msr --subset AS2 --selection inner-cv --epochs 100 & done; wait
    python bench/screen_average.py --merge 5 --save NAME
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import signal
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
NOTE = "inner cross-validation on the training split only; no test data was read"
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


class Stopped(Exception):
    """SIGTERM during a single inner fold's screen."""


def _stop_on_signal(signum: int, frame: object) -> None:
    raise Stopped


def collect() -> dict:
    """What the trainers measured, per inner fold: validation sizes, and per variant the validation curves and
    (two-stream ARRN-LSTM) every epoch's joint / line stream logits and labels as nested lists."""
    names = ["raw"] + [f"ema{h:g}" for h in HORIZONS]
    # A run stopped by a signal may have scored the variants of an epoch it did not finish: history decides.
    def scores(t: ScreeningTrainer, name: str) -> list:
        return [[x.tolist() for x in epoch] for epoch in t.scores[name][:len(t.state.history)]]

    return {"sizes": [len(t.val_set) for t in TRAINERS],
            "train_loss": [[r["train_loss"] for r in t.state.history] for t in TRAINERS],
            "variants": {name: {"curves": [[r[f"val_top1_{name}"] for r in t.state.history] for t in TRAINERS],
                                "scores": ([scores(t, name) for t in TRAINERS]
                                           if all(name in t.scores for t in TRAINERS) else None)}
                         for name in names}}


def truncate(measured: dict, epochs: int) -> dict:
    """The first ``epochs`` epochs of every curve (and score list)."""
    return {"sizes": measured["sizes"], "train_loss": [c[:epochs] for c in measured.get("train_loss", [])],
            "variants": {name: {"curves": [c[:epochs] for c in v["curves"]],
                                "scores": None if v["scores"] is None else [s[:epochs] for s in v["scores"]]}
                         for name, v in measured["variants"].items()}}


def merge(parts: list[dict]) -> dict:
    """One :func:`collect` result from those of single inner folds (in inner-fold order)."""
    names = list(parts[0]["variants"])
    if any(list(p["variants"]) != names for p in parts):
        raise SystemExit(f"the parts were screened with different --horizons: {[list(p['variants']) for p in parts]}")
    return {"sizes": [n for p in parts for n in p["sizes"]],
            "train_loss": [c for p in parts for c in p.get("train_loss", [])],
            "variants": {name: {"curves": [c for p in parts for c in p["variants"][name]["curves"]],
                                "scores": (None if any(p["variants"][name]["scores"] is None for p in parts)
                                           else [s for p in parts for s in p["variants"][name]["scores"]])}
                         for name in names}}


def summarise(measured: dict, window: int) -> dict:
    sizes = measured["sizes"]
    out = {}
    for name, variant in measured["variants"].items():
        curves = variant["curves"]
        choice = choose_epoch(curves, sizes, window)
        mean = choice["mean_curve"]
        row = {"inner_cv_value": choice["value"], "epoch": choice["epoch"],
               "last5_mean": sum(mean[-5:]) / len(mean[-5:]), "mean_curve": mean, "curves": curves}
        if variant["scores"] is not None:
            e = choice["epoch"] - 1
            j, line, y = (torch.cat([torch.tensor(fold[e][k]) for fold in variant["scores"]]) for k in range(3))
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
    p.add_argument("--inner-fold", type=int, default=None, metavar="I",
                   help="run only the I-th inner fold (0-based) and save NAME.partI.json, for --merge")
    p.add_argument("--merge", type=int, default=None, metavar="K",
                   help="summarise NAME.part0..K-1.json (no training) into NAME.json")
    p.add_argument("recipe", nargs="?", help="recipe module under skelgraph.recipes, then its options")
    p.add_argument("options", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    if args.merge is not None:
        paths = [args.results / f"{args.save}.part{i}.json" for i in range(args.merge)]
        missing = [str(q) for q in paths if not q.exists()]
        if missing:
            raise SystemExit(f"--merge {args.merge}: missing parts {missing}")
        parts = [json.loads(q.read_text()) for q in paths]
        screened = {json.dumps(q["screened"]) for q in parts}
        if len(screened) != 1:
            raise SystemExit(f"the parts come from different screens: {sorted(screened)}")
        what = parts[0]["screened"]
        measured = merge([q["measured"] for q in parts])
        lengths = [len(c) for c in measured["variants"]["raw"]["curves"]]
        if not min(lengths):
            raise SystemExit(f"--merge: an inner fold finished no epoch (epochs per fold: {lengths})")
        kept = truncate(measured, min(lengths))
        result = {"command": " ".join(["python bench/screen_average.py --horizons", *map(str, what["horizons"]),
                                       "--save", args.save, "--", what["recipe"], *what["options"]]),
                  "inner_fold_commands": [q["command"] for q in parts],
                  "minutes": sum(q["minutes"] for q in parts), "parallel_minutes": max(q["minutes"] for q in parts),
                  "variants": summarise(kept, args.smooth), "train_loss": kept["train_loss"], "note": NOTE}
        if len(set(lengths)) > 1 or not all(q["complete"] for q in parts):
            result["stopped_early"] = (f"inner folds stopped after {lengths} epochs; summarised over the first "
                                       f"{min(lengths)} epochs of each")
            print(result["stopped_early"])
        _save_and_print(args.results / f"{args.save}.json", result)
        return
    if args.recipe is None:
        p.error("a recipe is needed (or --merge K)")
    command = " ".join(["python bench/screen_average.py", *(sys.argv[1:] if argv is None else argv)])
    HORIZONS[:] = args.horizons
    module = importlib.import_module(f"skelgraph.recipes.{args.recipe}")
    started = time.perf_counter()
    if args.inner_fold is not None:
        import skelgraph.training.selection as selection

        all_splits = selection.group_splits

        def one_split(groups, folds=None):
            splits = all_splits(groups, folds)
            if not 0 <= args.inner_fold < len(splits):
                raise SystemExit(f"--inner-fold {args.inner_fold}: the recipe has {len(splits)} inner folds")
            return [splits[args.inner_fold]]

        selection.group_splits = one_split  # inner_cv imports it at call time
    # "raw" means the raw weights: the recipe's own average (a default of some recipes) is turned off last, so
    # that it wins over the recipe's defaults and the options; the averages are the screen's own.
        # A part stopped by SIGTERM (e.g. `timeout`) still saves the epochs it finished; --merge truncates.
        signal.signal(signal.SIGTERM, _stop_on_signal)
    complete = True
    try:
        run_inner_cv_only(module.main, args.options + ["--ema", "0", "--out", tempfile.mkdtemp(prefix="screen_"),
                                                       "--no-progress"], ScreeningTrainer)
    except (KeyboardInterrupt, Stopped):
        if args.inner_fold is None:
            raise
        complete = False
    finally:
        if args.inner_fold is not None:
            selection.group_splits = all_splits
    minutes = (time.perf_counter() - started) / 60
    if args.inner_fold is not None:
        path = args.results / f"{args.save}.part{args.inner_fold}.json"
        path.write_text(json.dumps({"command": command, "minutes": minutes, "complete": complete,
                                    "measured": collect(), "note": NOTE,
                                    "screened": {"recipe": args.recipe, "options": args.options,
                                                 "horizons": args.horizons, "smooth": args.smooth}}))
        print(f"saved {path}" + ("" if complete else " (stopped early)"))
        return
    measured = collect()
    result = {"command": command, "minutes": minutes, "variants": summarise(measured, args.smooth),
              "train_loss": measured["train_loss"], "note": NOTE}
    _save_and_print(args.results / f"{args.save}.json", result)


def _save_and_print(path: Path, result: dict) -> None:
    path.write_text(json.dumps(result, indent=1))
    for name, row in result["variants"].items():
        extra = "".join(f", {k} {row[k]:.2%}" for k in ("fused_top1_chosen_alpha", "fused_top1_alpha_0.5",
                                                        "joint_top1", "line_top1") if k in row)
        print(f"{name}: inner-CV value {row['inner_cv_value']:.2%} at epoch {row['epoch']}, "
              f"last-5 mean {row['last5_mean']:.2%}{extra}" + (f", alpha {row['alpha']:.2f}" if "alpha" in row else ""))


if __name__ == "__main__":
    main()
