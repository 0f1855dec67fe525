"""Labelled ensemble rows of finished campaign rows: multi-clip testing, seed ensembles and the ensemble of two
streams trained apart, each choosing nothing on test data, kept apart from ``summary.json``'s single-model rows
(issue 35 item 7).

    python bench/ensemble_rows.py msr_arrn_joint msr_arrn_line --streams msr_arrn_joint msr_arrn_line \\
        [--runs runs/campaign] [--results bench/results/accuracy] [--clips 10] [--seeds 0 1 2]
    python bench/ensemble_rows.py msr_arrn_inert [--runs ...]       # one more row, added to the same file

Every finished unit of a row (``RUNS/ROW/seedS/UNIT/`` with its ``summary.json``; the campaign's units that are
not there are named as missing) is evaluated as ``bench/seed_ensemble.py`` evaluates it, its ``model.pt`` on its
run's test split, refused unless the top-1 is the one the campaign recorded under ``--results``, and again with
``--clips`` clips (:func:`skelgraph.evaluate.evaluate_checkpoint`; ``python -m skelgraph.evaluate --clips``).
The entries, each the mean of the class probabilities of its members with equal weights
(:func:`skelgraph.evaluate.fuse_loaded`, what ``python -m skelgraph.evaluate --fuse`` runs):

- ``single``: every (seed, unit) model alone, one clip: the row's own figures, equal to the recorded ones;
- ``clips``: the same models, multi-clip testing;
- ``seeds`` / ``seeds_clips``: per unit, the models of every seed (units where every seed finished);
- for a ``--streams A B`` pair (two rows trained apart on the same units, e.g. ARRN-LSTM's joint and line
  streams): ``streams`` / ``streams_clips`` per (seed, unit) the two rows' models (late fusion of separately
  trained streams with alpha 0.5), and ``streams_seeds`` / ``streams_seeds_clips`` per unit every seed of both.

Each entry gives ``top1_mean``, the mean over its groups (units, or (seed, unit) pairs: the campaign's mean over
units and seeds), the pooled ``correct`` / ``total`` over its groups, ``test_samples`` (the distinct test
sequences, one seed's total) and ``test_ci95``, the Wilson interval of the pooled top-1 on ``test_samples`` as
``bench/accuracy_summary.py`` gives a row's; and ``members_single_mean``, the mean one-clip top-1 of the same
models on the same groups: what the ensemble is to be compared with.

Nothing is chosen: the clip count (10, PYSKL's multi-clip testing), the equal weights and the list of entries
were fixed before any test figure was read, and every entry is reported. An ensemble costs its members' training
and test compute and is not the papers' model. Rows are written into ``bench/results/accuracy/ensembles.json``
(``--save``) under their names, beside the rows already there.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from accuracy_campaign import ROWS
from accuracy_summary import wilson_interval
from seed_ensemble import RESULTS, ROOT, evaluate_unit, unit_checkpoints

#: Clips of multi-clip testing, fixed before any test figure was read (PYSKL tests skeletons with 10 clips).
CLIPS = 10


@dataclass
class Unit:
    """A finished unit's model evaluated on its test split: with one clip (checked against the record) and with
    ``clips`` clips."""

    seed: int
    unit: str
    one: dict[str, Any]
    clips: dict[str, Any]


def evaluate_row(runs: Path, row: str, records: Path, seeds: list[int], clips: int
                 ) -> tuple[dict[tuple[int, str], Unit], list[str]]:
    """The finished units of ``row`` among ``seeds``, by (seed, unit), and the campaign's units that are not
    finished (the row's folds in ``bench/accuracy_campaign.py``, else the units found), named."""
    from skelgraph import evaluate

    finished = sorted((runs / row).glob("seed*/*/summary.json"))
    by_unit = unit_checkpoints(runs, row, finished_only=True) if finished else {}
    models: dict[tuple[int, str], Unit] = {}
    for unit, by_seed in by_unit.items():
        for seed, checkpoint in sorted(by_seed.items()):
            if seed not in seeds:
                continue
            one = evaluate_unit(checkpoint, records, row, seed, unit)
            many = evaluate.evaluate_checkpoint(checkpoint, clips=clips)
            models[(seed, unit)] = Unit(seed, unit, one, many)
            print(f"  {row} seed {seed} {unit}: 1 clip {one['metrics']['top1']:.1%}, {clips} clips "
                  f"{many['metrics']['top1']:.1%}", flush=True)
    units = ROWS[row].folds if row in ROWS else sorted(by_unit)
    missing = [f"{row} seed{s} {u}" for s in seeds for u in units if (s, u) not in models]
    return dict(sorted(models.items())), missing if units else [f"{row}: no finished unit under {runs / row}"]


def group(unit: str, seed: int | None, members: list[dict[str, Any]], singles: list[dict[str, Any]]
          ) -> dict[str, Any]:
    """One ensemble on one unit's test split: the mean probabilities of ``members`` (evaluations of the same
    samples), its correct count, and the mean one-clip top-1 of the models in it (``singles``)."""
    from skelgraph.evaluate import fuse_loaded

    fused, _ = fuse_loaded(members)
    correct = int((np.asarray(fused["scores"]).argmax(1) == np.asarray(fused["labels"])).sum())
    samples = len(fused["labels"])
    return {"unit": unit, "seed": seed, "members": len(members), "correct": correct, "samples": samples,
            "top1": correct / samples, "members_single": statistics.fmean(s["metrics"]["top1"] for s in singles)}


def entry(label: str, definition: str, groups: list[dict[str, Any]], missing: list[str]) -> dict[str, Any]:
    """An ensemble row: its groups' mean top-1, pooled counts and Wilson interval (see the module docstring)."""
    if not groups:
        return {"label": label, "definition": definition, "groups": [], "missing": missing}
    correct, total = sum(g["correct"] for g in groups), sum(g["samples"] for g in groups)
    test_samples = sum({g["unit"]: g["samples"] for g in groups}.values())
    pooled = correct / total
    return {"label": label, "definition": definition,
            "top1_mean": statistics.fmean(g["top1"] for g in groups),
            "members_single_mean": statistics.fmean(g["members_single"] for g in groups),
            "correct": correct, "total": total, "pooled_top1": pooled, "test_samples": test_samples,
            "test_ci95": list(wilson_interval(pooled, test_samples)), "groups": groups, "missing": missing}


def complete_units(models: list[dict[tuple[int, str], Unit]], seeds: list[int]) -> tuple[list[str], list[str]]:
    """The units where every seed of every row in ``models`` finished, and the others."""
    units = sorted({u for m in models for _, u in m})
    complete = [u for u in units if all((s, u) in m for m in models for s in seeds)]
    return complete, [u for u in units if u not in complete]


def row_entries(row: str, models: dict[tuple[int, str], Unit], missing: list[str], seeds: list[int],
                clips: int) -> dict[str, dict[str, Any]]:
    """A row's single-model, multi-clip and seed-ensemble entries."""
    complete, partial = complete_units([models], seeds)
    left_out = missing + [f"{row} {u}: not every seed finished, left out of the seed ensembles" for u in partial]
    single = [group(m.unit, m.seed, [m.one], [m.one]) for m in models.values()]
    for g, m in zip(single, models.values()):
        if abs(g["top1"] - m.one["metrics"]["top1"]) > 1e-9:  # ties of probabilities that the scores did not have
            raise SystemExit(f"{row} seed {m.seed} {m.unit}: the probabilities' top-1 {g['top1']:.4f} is not the "
                             f"recorded {m.one['metrics']['top1']:.4f}")
    n = len(seeds)
    return {
        "single": entry(f"{row}: single models, 1 clip", "each (seed, unit) model alone, one clip: the row's own "
                        "figures", single, missing),
        "clips": entry(f"{row}: single models, {clips} clips", f"each (seed, unit) model alone, mean probabilities "
                       f"of {clips} clips", [group(m.unit, m.seed, [m.clips], [m.one]) for m in models.values()],
                       missing),
        "seeds": entry(f"{row}: {n}-seed ensemble, 1 clip", f"per unit, mean probabilities of the {n} seeds' "
                       "models", [group(u, None, [models[s, u].one for s in seeds], [models[s, u].one for s in seeds])
                                  for u in complete], left_out),
        "seeds_clips": entry(f"{row}: {n}-seed ensemble, {clips} clips", f"per unit, mean probabilities of the {n} "
                             f"seeds' models, {clips} clips each",
                             [group(u, None, [models[s, u].clips for s in seeds], [models[s, u].one for s in seeds])
                              for u in complete], left_out),
    }


def stream_entries(a: str, b: str, models: dict[str, dict[tuple[int, str], Unit]], missing: list[str],
                   seeds: list[int], clips: int) -> dict[str, dict[str, Any]]:
    """The entries of two rows trained apart on the same units: per (seed, unit) and per unit over every seed."""
    ma, mb = models[a], models[b]
    pairs = sorted(set(ma) & set(mb))
    complete, partial = complete_units([ma, mb], seeds)
    left_out = missing + [f"{u}: not every seed of both rows finished, left out of the seed ensembles"
                          for u in partial]
    both = f"{a} + {b}"
    n = len(seeds)

    def per_unit(kind: str) -> list[dict[str, Any]]:
        return [group(u, None, [getattr(m[s, u], kind) for m in (ma, mb) for s in seeds],
                      [m[s, u].one for m in (ma, mb) for s in seeds]) for u in complete]

    return {
        "streams": entry(f"{both}: stream ensemble, 1 clip", "per (seed, unit), mean probabilities of the two rows' "
                         "models (late fusion, alpha 0.5)",
                         [group(u, s, [ma[s, u].one, mb[s, u].one], [ma[s, u].one, mb[s, u].one]) for s, u in pairs],
                         missing),
        "streams_clips": entry(f"{both}: stream ensemble, {clips} clips", "per (seed, unit), mean probabilities of "
                               f"the two rows' models, {clips} clips each",
                               [group(u, s, [ma[s, u].clips, mb[s, u].clips], [ma[s, u].one, mb[s, u].one])
                                for s, u in pairs], missing),
        "streams_seeds": entry(f"{both}: stream and {n}-seed ensemble, 1 clip", f"per unit, mean probabilities of "
                               f"the {2 * n} models of both rows and all seeds", per_unit("one"), left_out),
        "streams_seeds_clips": entry(f"{both}: stream and {n}-seed ensemble, {clips} clips", "per unit, mean "
                                     f"probabilities of the {2 * n} models of both rows and all seeds, {clips} "
                                     "clips each", per_unit("clips"), left_out),
    }


def table(entries: dict[str, dict[str, Any]]) -> list[str]:
    """Markdown lines: one per entry."""
    lines = ["| entry | groups | top-1 (mean) | its models alone, 1 clip | pooled (correct / total) | 95 % CI |",
             "| --- | --- | --- | --- | --- | --- |"]
    for e in entries.values():
        if not e["groups"]:
            lines.append(f"| {e['label']} | 0 | – | – | – | – |")
            continue
        lo, hi = e["test_ci95"]
        lines.append(f"| {e['label']} | {len(e['groups'])} | {e['top1_mean']:.1%} | {e['members_single_mean']:.1%} "
                     f"| {e['pooled_top1']:.1%} ({e['correct']} / {e['total']}) | {lo:.1%}-{hi:.1%} |")
    return lines


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("rows", nargs="*", help="campaign rows (bench/accuracy_campaign.py --list)")
    p.add_argument("--streams", nargs=2, action="append", default=[], metavar=("A", "B"),
                   help="two rows trained apart on the same units, fused per (seed, unit); repeatable")
    p.add_argument("--runs", type=Path, default=ROOT / "runs" / "campaign", help="the campaign's run folders")
    p.add_argument("--results", type=Path, default=RESULTS,
                   help="the results folder holding the campaign's unit records (campaign/ROW/seedS/UNIT.json)")
    p.add_argument("--clips", type=int, default=CLIPS, help="clips of multi-clip testing")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="the seeds every row was to train")
    p.add_argument("--save", type=Path, default=RESULTS / "ensembles.json", help="the JSON the rows go into")
    args = p.parse_args(argv)
    rows = list(dict.fromkeys([*args.rows, *(r for pair in args.streams for r in pair)]))
    if not rows:
        p.error("name at least one row or --streams pair")
    if args.clips < 2:
        p.error(f"--clips must be at least 2 (one clip is the single models' entry), got {args.clips}")
    command = "python bench/ensemble_rows.py " + " ".join(sys.argv[1:] if argv is None else argv)
    models, missing, out = {}, {}, {}
    for row in rows:
        models[row], missing[row] = evaluate_row(args.runs, row, args.results, args.seeds, args.clips)
        if missing[row]:
            print(f"{row}: missing (no finished unit folder under {args.runs}): {', '.join(missing[row])}")
        if models[row]:
            out[row] = row_entries(row, models[row], missing[row], args.seeds, args.clips)
    for a, b in args.streams:
        if models[a] and models[b]:
            out[f"{a}+{b}"] = stream_entries(a, b, models, missing[a] + missing[b], args.seeds, args.clips)
    saved = json.loads(args.save.read_text()) if args.save.exists() else {}
    saved["note"] = ("labelled ensemble rows of campaign rows: equal-weight means of class probabilities fixed "
                     "before any test figure was read (nothing chosen on test data); not the papers' models and "
                     "not single-model results (those are summary.json's rows); see bench/ensemble_rows.py")
    saved.setdefault("rows", {})
    for key, entries in out.items():
        saved["rows"][key] = {"command": command, "runs": str(args.runs), "clips": args.clips, "seeds": args.seeds,
                              "entries": entries}
        print(f"\n{key}\n" + "\n".join(table(entries)))
    args.save.write_text(json.dumps(saved, indent=1) + "\n")
    print(f"-> {args.save}")


if __name__ == "__main__":
    main()
