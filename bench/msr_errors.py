"""Where a campaign row's MSR Action3D test errors are: per test subject, per action of each subset, on the
sequences with crossed legs against the rest, the most frequent confusions, and the sequences every seed gets
wrong (issue 35, "the data").

    python bench/msr_errors.py msr_arrn_joint msr_arrn_line [--runs runs/campaign] [--save msr_errors]
    python bench/msr_errors.py --table [--save msr_errors]     # the rows' group table from the saved JSON

``--table`` evaluates nothing: from the saved JSON it prints, per row, the pooled top-1 of the other test subjects'
sequences, of the worst subject's sequences without crossed legs and of its crossed-legs session, each with the 95 %
Wilson interval on one seed's count of test sequences (the seeds share the test set, as ``accuracy_summary.py``
gives a row's interval), and the points each of the worst subject's groups costs against the other subjects' rate.

Every finished unit (``RUNS/ROW/seedS/ASk/`` with its ``summary.json``) is evaluated as bench/seed_ensemble.py
evaluates it: its ``model.pt`` on its run's test split, refused unless the top-1 is the one the campaign recorded.
The sample names ``aAA_sSS_eEE`` give the subject; the crossed-legs sequences are ``swapped_legs`` of
``bench/results/accuracy/msr_data_quality.json`` (bench/msr_data_quality.py: raw coordinates, no model, no label).

Accuracies are pooled over subsets and seeds (right / samples, a sequence counting once per unit that tests it)
and given per seed. The gap table says how much of the gap to the paper's figure sits on the crossed-legs
sequences, on the worst test subject's other sequences and on all of its: the top-1 with them left out and the
top-1 had they all been right, each the mean over units as the campaign averages. It is an analysis of the test
data that chooses nothing (the worst subject is picked on test data); none of its figures is a result.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from accuracy_summary import wilson_interval
from seed_ensemble import RESULTS, ROOT, evaluate_unit, unit_checkpoints

from skelgraph.io.msr import MSR_NAME

PAPER = 0.950  # ARRN-LSTM (two streams) on MSR Action3D, mean over AS1-AS3


@dataclass(frozen=True)
class Outcome:
    """One test sequence as one unit's model classified it."""

    seed: int
    subset: str
    name: str
    true: str
    predicted: str

    @property
    def right(self) -> bool:
        return self.true == self.predicted

    @property
    def subject(self) -> int:
        return int(MSR_NAME.fullmatch(self.name).group(2))


def outcomes(seed: int, subset: str, evaluation: dict[str, Any]) -> list[Outcome]:
    """The outcomes of an evaluation (``names``, ``labels``, ``scores`` ``[N, K]``, ``class_names``): each
    sequence's class of the largest score."""
    classes = [str(c) for c in evaluation["class_names"]]
    predicted = np.asarray(evaluation["scores"]).argmax(1)
    out = []
    for name, label, guess in zip(evaluation["names"], np.asarray(evaluation["labels"]), predicted):
        if not MSR_NAME.fullmatch(str(name)):
            raise SystemExit(f"seed {seed} {subset}: sample name {name!r} is not an MSR name aAA_sSS_eEE")
        out.append(Outcome(seed, subset, str(name), classes[int(label)], classes[int(guess)]))
    return out


def tally(items: Iterable[Outcome], key: Callable[[Outcome], Hashable]) -> dict[Hashable, dict[str, Any]]:
    """``{key: {right, samples, top1}}`` in the order the keys first appear."""
    counts: dict[Hashable, list[int]] = {}
    for o in items:
        c = counts.setdefault(key(o), [0, 0])
        c[0] += o.right
        c[1] += 1
    return {k: {"right": r, "samples": n, "top1": r / n} for k, (r, n) in counts.items()}


def unit_mean(items: Iterable[Outcome], keep: Callable[[Outcome], bool] = lambda o: True,
              right: Callable[[Outcome], bool] = lambda o: o.right) -> float:
    """Mean over units (seed, subset) of each unit's top-1 over the outcomes it ``keep``s, with ``right`` deciding
    which count as right: the campaign's row figure where nothing is left out or changed."""
    units: dict[tuple[int, str], list[bool]] = defaultdict(list)
    for o in items:
        if keep(o):
            units[o.seed, o.subset].append(right(o))
    return statistics.fmean(statistics.fmean(v) for v in units.values())


def gap(items: list[Outcome], groups: dict[str, Callable[[Outcome], bool]], paper: float) -> dict[str, Any]:
    """For each group of test sequences: its errors, the top-1 without it, the top-1 had it all been right, and
    the points (and share) of the gap to ``paper`` that its errors account for."""
    top1 = unit_mean(items)
    return {"top1": top1, "paper": paper,
            "groups": {label: _group(items, member, top1, paper) for label, member in groups.items()}}


def _group(items: list[Outcome], member: Callable[[Outcome], bool], top1: float, paper: float) -> dict[str, Any]:
    if_right = unit_mean(items, right=lambda o: o.right or member(o))
    return {"samples": sum(map(member, items)), "errors": sum(member(o) and not o.right for o in items),
            "top1_without": unit_mean(items, keep=lambda o: not member(o)), "top1_if_right": if_right,
            "points": if_right - top1, "share_of_gap": (if_right - top1) / (paper - top1) if paper > top1 else None}


def confusions(items: Iterable[Outcome], top: int = 10) -> list[dict[str, Any]]:
    """The ``top`` most frequent (subset, true, predicted) errors, counted over units."""
    count = Counter((o.subset, o.true, o.predicted) for o in items if not o.right)
    return [{"subset": s, "true": t, "predicted": p, "count": n} for (s, t, p), n in count.most_common(top)]


def always_wrong(items: Iterable[Outcome]) -> list[dict[str, Any]]:
    """The (subset, sequence) pairs wrong in every seed; only pairs every seed tested count."""
    items = list(items)
    seeds = sorted({o.seed for o in items})
    by: dict[tuple[str, str], dict[int, Outcome]] = defaultdict(dict)
    for o in items:
        by[o.subset, o.name][o.seed] = o
    return [{"subset": s, "name": n, "true": got[seeds[0]].true, "predicted": [got[k].predicted for k in seeds]}
            for (s, n), got in by.items() if len(got) == len(seeds) and not any(o.right for o in got.values())]


def summarise(items: list[Outcome], groups: dict[str, Callable[[Outcome], bool]],
              kind: Callable[[Outcome], str], paper: float) -> dict[str, Any]:
    """Every table of one row (or one seed of it); ``kind`` sorts the sequences into the rows of its table."""
    per_class: dict[str, dict[str, Any]] = defaultdict(dict)
    for (subset, action), v in tally(items, lambda o: (o.subset, o.true)).items():
        per_class[subset][action] = v
    return {
        "units": len({(o.seed, o.subset) for o in items}),
        "per_subject": {f"s{k:02d}": v for k, v in sorted(tally(items, lambda o: o.subject).items())},
        "sequences": dict(sorted(tally(items, kind).items())),
        "per_class": dict(per_class), "gap": gap(items, groups, paper), "confusions": confusions(items),
    }


def evaluate_row(runs: Path, row: str, results: Path) -> tuple[list[Outcome], dict[str, Any]]:
    """The outcomes of every finished unit of a row (each checked against its recorded top-1) and, per unit, its
    top-1 and wrong sequences (with the predicted class), which with the test split give every outcome."""
    items: list[Outcome] = []
    units: dict[str, Any] = {}
    for unit, by_seed in unit_checkpoints(runs, row, finished_only=True).items():
        for seed, checkpoint in sorted(by_seed.items()):
            evaluation = evaluate_unit(checkpoint, results, row, seed, unit)  # its top-1 is the recorded one
            found = outcomes(seed, unit, evaluation)
            top1 = statistics.fmean(o.right for o in found)
            if abs(top1 - evaluation["metrics"]["top1"]) > 1e-9:  # the probabilities' argmax vs the scores': a tie
                raise SystemExit(f"{checkpoint}: top-1 of the probabilities' argmax {top1:.4f} is not the recorded "
                                 f"{evaluation['metrics']['top1']:.4f}")
            units[f"seed{seed}/{unit}"] = {"top1": top1, "samples": len(found),
                                           "wrong": {o.name: o.predicted for o in found if not o.right}}
            items += found
            print(f"  {row} seed {seed} {unit}: {top1:.1%} ({len(found)} test sequences)", flush=True)
    return items, units


def analyse(items: list[Outcome], crossed: set[str], paper: float = PAPER) -> dict[str, Any]:
    """Pooled and per-seed tables; the worst subject is the pooled one, the same group in every seed's table."""
    subjects = tally(items, lambda o: o.subject)
    worst = min(sorted(subjects), key=lambda s: subjects[s]["top1"])
    legs, other = "crossed legs", f"s{worst:02d}, legs not crossed"  # MSR's crossed test sequences are all s02's

    def kind(o: Outcome) -> str:
        return legs if o.name in crossed else other if o.subject == worst else "other subjects, not crossed"

    groups = {legs: lambda o: kind(o) == legs, other: lambda o: kind(o) == other,
              f"s{worst:02d}": lambda o: o.subject == worst}
    seeds = sorted({o.seed for o in items})
    return {"seeds": seeds, "worst_subject": worst, "pooled": summarise(items, groups, kind, paper),
            "per_seed": {str(s): summarise([o for o in items if o.seed == s], groups, kind, paper) for s in seeds},
            "always_wrong": always_wrong(items)}


def _cell(v: dict[str, Any] | None) -> str:
    return "" if v is None else f"{v['top1']:.1%} ({v['right']}/{v['samples']})"


def print_row(row: str, r: dict[str, Any]) -> None:
    pooled, seeds = r["pooled"], [str(s) for s in r["seeds"]]
    g = pooled["gap"]
    print(f"\n{row}: {pooled['units']} units, seeds {', '.join(seeds)}; mean over units {g['top1']:.1%}, "
          f"paper {g['paper']:.1%} (gap {100 * (g['paper'] - g['top1']):.1f} points)")
    head = ["pooled"] + [f"seed {s}" for s in seeds]
    for title, key in (("test subject", "per_subject"), ("sequences", "sequences")):
        print(f"| {title} | " + " | ".join(head) + " |\n|" + " --- |" * (len(head) + 1))
        for k, v in pooled[key].items():
            print(f"| {k} | {_cell(v)} | " + " | ".join(_cell(r["per_seed"][s][key].get(k)) for s in seeds) + " |")
    print("\nanalysis on test data, chooses nothing: top-1 (mean over units) without a group / had it been right")
    print("| group | seed | test sequences x units | errors | top-1 without | top-1 if right | points (share of gap) "
          "|\n|" + " --- |" * 7)
    for label in g["groups"]:
        for who, t in [("all", g)] + [(s, r["per_seed"][s]["gap"]) for s in seeds]:
            x = t["groups"][label]
            share = "" if x["share_of_gap"] is None else f" ({x['share_of_gap']:.0%})"
            print(f"| {label} | {who} | {x['samples']} | {x['errors']} | {x['top1_without']:.1%} | "
                  f"{x['top1_if_right']:.1%} | {100 * x['points']:.1f}{share} |")
    print("\n| subset | action | pooled | " + " | ".join(f"seed {s}" for s in seeds) + " |\n|"
          + " --- |" * (3 + len(seeds)))
    for subset, actions in sorted(pooled["per_class"].items()):
        for action, v in actions.items():
            each = [_cell(r["per_seed"][s]["per_class"].get(subset, {}).get(action)) for s in seeds]
            print(f"| {subset} | {action} | {_cell(v)} | " + " | ".join(each) + " |")
    print("\nmost frequent confusions (counted over units): " + "; ".join(
        f"{c['subset']} {c['true']} -> {c['predicted']} {c['count']}" for c in pooled["confusions"]))
    print(f"wrong in every seed ({len(r['always_wrong'])}): " + "; ".join(
        f"{w['subset']} {w['name']} {w['true']} -> {'/'.join(w['predicted'])}" for w in r["always_wrong"]))


def _interval_cell(g: dict[str, Any], seeds: int) -> str:
    low, high = wilson_interval(g["right"] / g["samples"], g["samples"] // seeds)
    return f"{g['top1']:.1%} ({low:.1%}-{high:.1%})"


def group_table(saved: dict[str, Any]) -> str:
    """The markdown table of ``--table`` for every row of ``saved`` (what :func:`main` wrote): pooled top-1 per
    group with the Wilson interval on one seed's count, and the points the worst subject's two groups cost, each
    ``(rate of the other subjects - group's rate) x group's share of the predictions``."""
    lines = []
    for row, r in saved["rows"].items():
        seq, seeds = r["pooled"]["sequences"], len(r["seeds"])
        worst = f"s{r['worst_subject']:02d}"
        other, alone, legs = seq["other subjects, not crossed"], seq[f"{worst}, legs not crossed"], seq["crossed legs"]
        total = sum(g["samples"] for g in seq.values())
        if not lines:
            lines += [f"| row | honest top-1, pooled ({total} predictions) | other test subjects "
                      f"({other['samples']}) | {worst}, legs not crossed ({alone['samples']}) | crossed legs "
                      f"({legs['samples']}) | points lost to {worst} (not crossed + crossed) |", "|" + " --- |" * 6]
        cell = [_interval_cell(g, seeds) for g in (other, alone, legs)]
        lost = [(other["top1"] - g["top1"]) * g["samples"] / total for g in (alone, legs)]
        top1 = sum(g["right"] for g in seq.values()) / total
        lines.append(f"| `{row}` | {top1:.1%} | {cell[0]} | {cell[1]} | {cell[2]} | "
                     f"{100 * lost[0]:.1f} + {100 * lost[1]:.1f} = {100 * sum(lost):.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("rows", nargs="*", help="MSR campaign rows (bench/accuracy_campaign.py --list)")
    p.add_argument("--table", action="store_true", help="print the group table of the saved JSON (--out/--save.json) "
                   "and evaluate nothing")
    p.add_argument("--runs", type=Path, default=ROOT / "runs" / "campaign", help="the campaign's run folders")
    p.add_argument("--save", default="msr_errors", help="JSON name under --out")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder the JSON is written to")
    p.add_argument("--results", type=Path, default=RESULTS,
                   help="where the campaign's unit records are (only read; e.g. a campaign worktree's)")
    p.add_argument("--quality", type=Path, default=RESULTS / "msr_data_quality.json",
                   help="bench/msr_data_quality.py's JSON (its swapped_legs list)")
    p.add_argument("--paper", type=float, default=PAPER, help="the figure the gap is measured to")
    args = p.parse_args(argv)
    if args.table:
        print(group_table(json.loads((args.out / f"{args.save}.json").read_text())))
        return
    if not args.rows:
        p.error("name the rows to evaluate, or give --table")
    crossed = set(json.loads(args.quality.read_text())["swapped_legs"])
    out = {"command": "python bench/msr_errors.py " + " ".join(sys.argv[1:] if argv is None else argv),
           "note": "analysis of test data that chooses nothing: the top-1 without a group or had it been right, and "
                   "the worst subject (picked on test data), are never results", "crossed_legs": sorted(crossed),
           "rows": {}}
    for row in args.rows:
        items, units = evaluate_row(args.runs, row, args.results)
        out["rows"][row] = analyse(items, crossed, args.paper) | {"units": units}
        print_row(row, out["rows"][row])
    path = args.out / f"{args.save}.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"-> {path}")


if __name__ == "__main__":
    main()
