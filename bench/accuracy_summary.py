"""Collect recipe runs (one run folder per seed) into a row of ``bench/results/accuracy/summary.json`` and
regenerate README's accuracy table from that file.

    python bench/accuracy_summary.py add --dataset sbu --protocol "5-fold" --model gca --training direct \\
        --paper 0.941 --command "python recipes/gca_lstm_sbu.py --training direct" \\
        --config recipes/configs/sbu_gca.json RUN_SEED0 RUN_SEED1 RUN_SEED2
    python bench/accuracy_summary.py table        # rewrite README's table from summary.json

A row's ``mean`` is the honest headline: the test top-1 of the recipe's own selection (nothing chosen on test
data), averaged over folds and then over seeds; ``std`` is the standard deviation over seeds of the fold means
(with one seed, over folds); ``per_fold`` the per-fold means over seeds; ``best_test_epoch_mean`` the same
average of every run's best *test* epoch (optimistic: how the papers' numbers compare); ``minutes`` the mean wall
time of one seed's whole protocol (selection included) on the machine that ran it.

Test-set sampling, beside the seed spread: ``pooled_top1`` is correct / total over every fold's test samples
(averaged over seeds: the seeds share one test set), and ``test_ci95`` its 95 % Wilson score interval with
``test_samples`` (one seed's total) as the sample size: the range of accuracies that another test set of the same
size, drawn from the same population, would be expected to give. It does not include seed-to-seed variation
(``std``) and treats the test samples as independent (they are not quite: they share subjects).

    python bench/accuracy_summary.py refresh      # recompute every row of summary.json from its run folders
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = ROOT / "bench" / "results" / "accuracy" / "summary.json"
README = ROOT / "README.md"
START, END = "<!-- accuracy-table:start -->", "<!-- accuracy-table:end -->"
KEYS = ("dataset", "protocol", "model", "training")


def _std(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def wilson_interval(p: float, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``p`` observed on ``n`` samples (``z``: 95 % by default)."""
    if n <= 0 or not 0.0 <= p <= 1.0:
        raise ValueError(f"a proportion in [0, 1] on n > 0 samples, got p={p}, n={n}")
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def read_seed(run: Path) -> dict:
    """One seed's results: a run folder's ``summary.json`` (written by ``run_folds``), or a folder of per-fold
    summaries (``K.json``, one fold each, as ``accuracy_campaign.py`` stores them) merged in fold order."""
    if (run / "summary.json").exists():
        return json.loads((run / "summary.json").read_text())
    parts = sorted(run.glob("*.json"))
    if not parts:
        raise SystemExit(f"{run}: neither summary.json nor per-fold K.json files")
    per_fold: dict = {}
    for part in parts:
        per_fold.update(json.loads(part.read_text())["per_fold"])
    return {"per_fold": per_fold}


def collect(runs: list[Path]) -> dict:
    """The figures of a row from one folder per seed (see :func:`read_seed`)."""
    seeds = [read_seed(run) for run in runs]
    folds = list(seeds[0]["per_fold"])
    for s, run in zip(seeds, runs):
        if list(s["per_fold"]) != folds:
            raise SystemExit(f"{run}: folds {list(s['per_fold'])} differ from {folds}")
    fold_means = [statistics.fmean(s["per_fold"][f]["top1"] for f in folds) for s in seeds]
    optimistic = [s["per_fold"][f]["optimistic_best_test"]["top1"] for s in seeds for f in folds
                  if "optimistic_best_test" in s["per_fold"][f]]
    walls = [sum(s["per_fold"][f].get("wall_seconds", 0.0) for f in folds) for s in seeds]
    one_seed = [seeds[0]["per_fold"][f]["top1"] for f in folds]
    samples = {f: int(seeds[0]["per_fold"][f]["samples"]) for f in folds}
    for s, run in zip(seeds, runs):
        if {f: int(s["per_fold"][f]["samples"]) for f in folds} != samples:
            raise SystemExit(f"{run}: test samples per fold differ from the first seed's {samples}")
    total = sum(samples.values())
    # correct counts are whole numbers: top1 * samples rounds to them exactly
    pooled = statistics.fmean(sum(round(s["per_fold"][f]["top1"] * samples[f]) for f in folds) / total
                              for s in seeds)
    return {
        "mean": statistics.fmean(fold_means),
        "std": _std(fold_means) if len(seeds) > 1 else _std(one_seed),
        "std_over": "seeds" if len(seeds) > 1 else "folds",
        "seeds": len(seeds),
        "per_fold": {f: statistics.fmean(s["per_fold"][f]["top1"] for s in seeds) for f in folds},
        "pooled_top1": pooled,
        "test_samples": total,
        "test_ci95": list(wilson_interval(pooled, total)),
        "best_test_epoch_mean": statistics.fmean(optimistic) if optimistic else None,
        "minutes": statistics.fmean(walls) / 60 if any(walls) else None,
        "runs": [_shown(r) for r in runs],
    }


def _shown(run: Path) -> str:
    """A run folder as the row records it: relative to the repository when inside it, so rows do not carry
    one machine's absolute paths."""
    path = run.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(run)


def load() -> list[dict]:
    return json.loads(SUMMARY.read_text()) if SUMMARY.exists() else []


def table(rows: list[dict]) -> str:
    lines = ["| dataset, protocol | model, training | honest top-1 (mean ± std) | seeds | test-set 95 % interval "
             "| best-test-epoch (optimistic) | paper | minutes / seed | config | command |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        ci = (f"{r['test_ci95'][0]:.1%}-{r['test_ci95'][1]:.1%} (n={r['test_samples']})"
              if r.get("test_ci95") else "–")
        opt = f"{r['best_test_epoch_mean']:.1%}" if r.get("best_test_epoch_mean") is not None else "–"
        paper = f"{r['paper']:.1%}" if r.get("paper") is not None else "–"
        if r.get("paper_note"):
            paper += f" ({r['paper_note']})"
        minutes = f"{r['minutes']:.0f}" if r.get("minutes") is not None else "–"
        config = f"[{Path(r['config']).name}]({r['config']})" if r.get("config") else "–"
        lines.append(f"| {r['dataset']}, {r['protocol']} | {r['model']}, {r['training']} | **{r['mean']:.1%}** ± "
                     f"{r['std']:.1%} (over {r.get('std_over', 'seeds')}) | {r['seeds']} | {ci} | {opt} | {paper} | "
                     f"{minutes} | {config} | `{r['command']}` |")
    return "\n".join(lines)


def write_readme(rows: list[dict]) -> None:
    text = README.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"README.md has no {START} ... {END} markers")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{table(rows)}\n{END}{tail}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    add = sub.add_parser("add", help="add (or replace) a row from run folders, one per seed")
    add.add_argument("runs", nargs="+", type=Path)
    for key in KEYS:
        add.add_argument(f"--{key}", required=True)
    add.add_argument("--paper", type=float, default=None,
                     help="the paper's figure, as a fraction (nan or absent: the paper reports none)")
    add.add_argument("--command", required=True, help="the recipe command of one seed (without --seed/--out)")
    add.add_argument("--config", default=None, help="the row's configuration file (recipes/configs/ROW.json): what "
                     "the command resolves to, runnable with --config")
    add.add_argument("--note", default="")
    add.add_argument("--paper-note", default="",
                     help="shown beside the paper's figure, e.g. where that figure is for a variant of the model")
    sub.add_parser("table", help="rewrite README's accuracy table from summary.json")
    sub.add_parser("refresh", help="recompute every row's figures from its run folders, then rewrite the table")
    args = p.parse_args(argv)
    rows = load()
    if args.cmd == "refresh":
        rows = [r | collect([ROOT / run for run in r["runs"]]) for r in rows]
        SUMMARY.write_text(json.dumps(rows, indent=1) + "\n")
    if args.cmd == "add":
        paper = args.paper if args.paper is not None and args.paper == args.paper else None  # nan: no figure
        row = ({k: getattr(args, k) for k in KEYS} | {"paper": paper, "command": args.command, "config": args.config,
                                                       "note": args.note, "paper_note": args.paper_note}
               | collect(args.runs))
        rows = [r for r in rows if tuple(r[k] for k in KEYS) != tuple(row[k] for k in KEYS)] + [row]
        SUMMARY.parent.mkdir(parents=True, exist_ok=True)
        SUMMARY.write_text(json.dumps(rows, indent=1) + "\n")
        print(json.dumps({k: row[k] for k in ("mean", "std", "seeds", "best_test_epoch_mean", "minutes")}))
    write_readme(rows)


if __name__ == "__main__":
    main()
