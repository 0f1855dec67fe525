"""Seed ensembles of finished campaign rows: the test accuracy of averaging the class probabilities of the
models that a row's seeds trained on the same fold, next to the single models'.

    python bench/seed_ensemble.py sbu_global2 sbu_stlstm_trust [--runs runs/campaign] [--save seed_ensemble]

Reads every unit checkpoint ``RUNS/ROW/seedS/UNIT/RUN/model.pt`` that ``bench/accuracy_campaign.py`` left (the model
each unit tested: its last epoch, or the weight average's), evaluates it on its run's test split
(:func:`skelgraph.evaluate.evaluate_checkpoint`), checks that the top-1 equals the one the unit recorded in
``bench/results/accuracy/campaign/ROW/seedS/UNIT.json``, and fuses the seeds of each unit by the mean of their
probabilities (:func:`skelgraph.evaluate.fuse_loaded`, what ``python -m skelgraph.evaluate --fuse`` runs). For every
row it prints and saves the mean over units of: single models (the row's headline), every pair of seeds, and all
seeds together.

Nothing is chosen: every seed a unit has enters with equal weight, fixed before any test figure is read. An
ensemble of S seeds is S times the training compute and is not the papers' model; it measures how much of the
gap to the papers is seed variance.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "accuracy"


def unit_checkpoints(runs: Path, row: str, finished_only: bool = False) -> dict[str, dict[int, Path]]:
    """``{unit: {seed: model.pt}}`` of a row's units (one run folder per unit); ``finished_only`` skips the unit
    folders without the ``summary.json`` a unit writes when it ends (a unit still training has no model.pt)."""
    units: dict[str, dict[int, Path]] = {}
    for seed_dir in sorted((runs / row).glob("seed*")):
        seed = int(seed_dir.name.removeprefix("seed"))
        for unit_dir in sorted(p for p in seed_dir.iterdir() if p.is_dir()):
            if finished_only and not (unit_dir / "summary.json").is_file():
                continue
            found = sorted(unit_dir.glob("*/model.pt"))
            if len(found) != 1:
                raise SystemExit(f"{unit_dir}: expected one RUN/model.pt, found {len(found)}")
            units.setdefault(unit_dir.name, {})[seed] = found[0]
    if not units:
        raise SystemExit(f"no unit checkpoints under {runs / row}")
    return units


def recorded_top1(results: Path, row: str, seed: int, unit: str) -> float:
    """The top-1 the campaign recorded for a unit (its only fold or subset)."""
    path = results / "campaign" / row / f"seed{seed}" / f"{unit}.json"
    if not path.is_file():
        raise SystemExit(f"no record {path} of the finished unit {row} seed {seed} {unit}: give the results folder "
                         "the campaign wrote it to")
    per_fold = json.loads(path.read_text())["per_fold"]
    (entry,) = per_fold.values()
    return float(entry["top1"])


def evaluate_unit(checkpoint: Path, results: Path, row: str, seed: int, unit: str) -> dict[str, Any]:
    """:func:`skelgraph.evaluate.evaluate_checkpoint` of a unit's checkpoint on its run's test split, refused
    (``SystemExit``) unless its top-1 is the one the campaign recorded for the unit."""
    from skelgraph import evaluate

    want = recorded_top1(results, row, seed, unit)
    result = evaluate.evaluate_checkpoint(checkpoint)
    if abs(result["metrics"]["top1"] - want) > 1e-9:
        raise SystemExit(f"{checkpoint}: top-1 {result['metrics']['top1']:.4f} on re-evaluation, but the "
                         f"campaign recorded {want:.4f}: not the model the unit tested")
    return result


def fused_top1(members: list[dict[str, Any]]) -> float:
    """Top-1 of the mean probabilities of ``members`` (evaluations of the same samples), fused as
    ``python -m skelgraph.evaluate --fuse`` fuses (:func:`skelgraph.evaluate.fuse_loaded`)."""
    import torch

    from skelgraph.evaluate import fuse_loaded, metrics

    fused, _ = fuse_loaded(members)
    return metrics(torch.from_numpy(fused["scores"]), torch.from_numpy(fused["labels"]))["top1"]


def ensemble_row(runs: Path, row: str, results: Path = RESULTS) -> dict[str, Any]:
    """Single, pairwise and all-seed test top-1 of a row's units and their means over the units."""
    units = unit_checkpoints(runs, row)
    per_unit: dict[str, dict[str, Any]] = {}
    for unit, by_seed in units.items():
        evaluated = {seed: evaluate_unit(checkpoint, results, row, seed, unit)
                     for seed, checkpoint in sorted(by_seed.items())}
        seeds = sorted(evaluated)
        per_unit[unit] = {
            "seeds": seeds, "samples": len(evaluated[seeds[0]]["names"]),
            "single": {str(s): evaluated[s]["metrics"]["top1"] for s in seeds},
            "pairs": {f"{a}+{b}": fused_top1([evaluated[a], evaluated[b]])
                      for a, b in itertools.combinations(seeds, 2)},
            "all": fused_top1([evaluated[s] for s in seeds]),
        }
        print(f"  {row} unit {unit}: single {' / '.join(f'{v:.1%}' for v in per_unit[unit]['single'].values())}, "
              f"all {len(seeds)} seeds {per_unit[unit]['all']:.1%}", flush=True)
    complete = [u for u in per_unit.values() if len(u["seeds"]) == max(len(v["seeds"]) for v in per_unit.values())]
    seeds = complete[0]["seeds"]

    def over_units(key: str, member: str) -> float:
        return statistics.fmean(u[key][member] for u in complete)

    single = {str(s): over_units("single", str(s)) for s in seeds}
    pairs = {p: over_units("pairs", p) for p in complete[0]["pairs"]}
    return {
        "units": len(complete), "seeds": seeds,
        "single_mean": statistics.fmean(single.values()),
        "single_std": statistics.stdev(single.values()) if len(single) > 1 else 0.0, "single": single,
        "pairs_mean": statistics.fmean(pairs.values()) if pairs else None, "pairs": pairs,
        "all_seeds": statistics.fmean(u["all"] for u in complete),
        "per_unit": per_unit,
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("rows", nargs="+", help="campaign rows (bench/accuracy_campaign.py --list)")
    p.add_argument("--runs", type=Path, default=ROOT / "runs" / "campaign", help="the campaign's run folders")
    p.add_argument("--save", default="seed_ensemble", help="JSON name under --results")
    p.add_argument("--results", type=Path, default=RESULTS, help="where the campaign's unit records are")
    args = p.parse_args(argv)
    out = {"command": "python bench/seed_ensemble.py " + " ".join(sys.argv[1:] if argv is None else argv),
           "note": "test accuracy of each row's unit checkpoints, single and averaged over seeds (equal weights, "
                   "nothing chosen); not the papers' models", "rows": {}}
    for row in args.rows:
        r = ensemble_row(args.runs, row, args.results)
        out["rows"][row] = r
        print(f"{row}: single models {r['single_mean']:.1%} ± {r['single_std']:.1%} over seeds "
              f"{' / '.join(f'{v:.1%}' for v in r['single'].values())}; pairs of seeds "
              f"{r['pairs_mean']:.1%}; all {len(r['seeds'])} seeds {r['all_seeds']:.1%} ({r['units']} units)")
    path = args.results / f"{args.save}.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"-> {path}")


if __name__ == "__main__":
    main()
