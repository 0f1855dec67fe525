"""bench/msr_errors.py's tables on hand-made evaluations (two seeds, two subsets, a few sequences each) against
values worked out by hand, and its walk over a campaign layout: unfinished units are skipped, evaluations are
stand-ins for the checkpoints'."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
CROSSED = {"a01_s02_e01"}


@pytest.fixture
def script(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))  # it imports seed_ensemble as the scripts do
    spec = importlib.util.spec_from_file_location("msr_errors", ROOT / "bench" / "msr_errors.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "msr_errors", module)  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def evaluation(classes, rows):
    """``rows``: (name, true class index, predicted class index); the scores put 0.7 on the prediction."""
    names, labels, guesses = zip(*rows)
    scores = np.full((len(rows), len(classes)), 0.3 / (len(classes) - 1), dtype=np.float32)
    scores[np.arange(len(rows)), guesses] = 0.7
    return {"names": list(names), "labels": np.array(labels), "scores": scores, "class_names": classes,
            "metrics": {"top1": float(np.mean(np.array(labels) == np.array(guesses)))}}


# seed -> subset -> evaluation. Right: seed 0 AS1 2/4, AS2 2/3; seed 1 AS1 3/4, AS2 3/3.
EVALUATIONS = {
    0: {"AS1": evaluation(["A", "B"], [("a01_s02_e01", 0, 1), ("a01_s04_e01", 0, 0), ("a02_s02_e01", 1, 0),
                                       ("a02_s04_e01", 1, 1)]),
        "AS2": evaluation(["C", "D"], [("a03_s02_e01", 0, 0), ("a03_s06_e01", 0, 1), ("a04_s06_e01", 1, 1)])},
    1: {"AS1": evaluation(["A", "B"], [("a01_s02_e01", 0, 1), ("a01_s04_e01", 0, 0), ("a02_s02_e01", 1, 1),
                                       ("a02_s04_e01", 1, 1)]),
        "AS2": evaluation(["C", "D"], [("a03_s02_e01", 0, 0), ("a03_s06_e01", 0, 0), ("a04_s06_e01", 1, 1)])},
}


def all_outcomes(script):
    return [o for seed, subsets in EVALUATIONS.items() for subset, e in subsets.items()
            for o in script.outcomes(seed, subset, e)]


def test_tables_match_hand_computed_values(script):
    items = all_outcomes(script)
    assert len(items) == 14 and sum(o.right for o in items) == 10
    assert script.unit_mean(items) == pytest.approx((1 / 2 + 2 / 3 + 3 / 4 + 1) / 4)
    r = script.analyse(items, CROSSED, paper=0.95)
    assert r["worst_subject"] == 2
    pooled = r["pooled"]
    assert {k: (v["right"], v["samples"]) for k, v in pooled["per_subject"].items()} == \
        {"s02": (3, 6), "s04": (4, 4), "s06": (3, 4)}
    assert {k: (v["right"], v["samples"]) for k, v in r["per_seed"]["0"]["per_subject"].items()} == \
        {"s02": (1, 3), "s04": (2, 2), "s06": (1, 2)}
    assert {k: (v["right"], v["samples"]) for k, v in pooled["sequences"].items()} == \
        {"crossed legs": (0, 2), "s02, legs not crossed": (3, 4), "other subjects, not crossed": (7, 8)}
    assert {s: {a: (v["right"], v["samples"]) for a, v in c.items()} for s, c in pooled["per_class"].items()} == \
        {"AS1": {"A": (2, 4), "B": (3, 4)}, "AS2": {"C": (3, 4), "D": (2, 2)}}
    top1 = (1 / 2 + 2 / 3 + 3 / 4 + 1) / 4
    crossed = pooled["gap"]["groups"]["crossed legs"]
    assert (crossed["samples"], crossed["errors"]) == (2, 2)
    # without a01_s02_e01, seed 0 AS1 is 2/3 and seed 1 AS1 3/3; had it been right, 3/4 and 4/4
    assert crossed["top1_without"] == pytest.approx((2 / 3 + 2 / 3 + 1 + 1) / 4)
    assert crossed["top1_if_right"] == pytest.approx((3 / 4 + 2 / 3 + 1 + 1) / 4)
    assert crossed["points"] == pytest.approx(0.125)
    assert crossed["share_of_gap"] == pytest.approx(0.125 / (0.95 - top1))
    s02 = pooled["gap"]["groups"]["s02"]
    assert (s02["samples"], s02["errors"]) == (6, 3)
    assert s02["top1_without"] == pytest.approx((1 + 1 / 2 + 1 + 1) / 4)
    assert s02["top1_if_right"] == pytest.approx((1 + 2 / 3 + 1 + 1) / 4)
    rest = pooled["gap"]["groups"]["s02, legs not crossed"]  # a02_s02_e01 and a03_s02_e01, one error
    assert (rest["samples"], rest["errors"]) == (4, 1)
    assert rest["top1_without"] == pytest.approx((2 / 3 + 1 / 2 + 2 / 3 + 1) / 4)
    assert rest["points"] == pytest.approx(1 / 16)
    seed1 = r["per_seed"]["1"]["gap"]["groups"]["crossed legs"]
    assert seed1["points"] == pytest.approx(1 / 8) and seed1["top1_without"] == pytest.approx(1.0)
    assert pooled["confusions"] == [{"subset": "AS1", "true": "A", "predicted": "B", "count": 2},
                                    {"subset": "AS1", "true": "B", "predicted": "A", "count": 1},
                                    {"subset": "AS2", "true": "C", "predicted": "D", "count": 1}]
    assert r["always_wrong"] == [{"subset": "AS1", "name": "a01_s02_e01", "true": "A", "predicted": ["B", "B"]}]
    # a sequence only one seed tested is not "wrong in every seed"
    assert script.always_wrong(items + [script.Outcome(0, "AS3", "a05_s08_e01", "E", "F")]) == r["always_wrong"]


def test_a_paper_figure_below_the_row_has_no_share(script):
    crossed = script.gap(all_outcomes(script), {"c": lambda o: o.name in CROSSED}, paper=0.5)["groups"]["c"]
    assert crossed["share_of_gap"] is None and crossed["points"] == pytest.approx(0.125)


def test_the_walk_skips_unfinished_units_and_saves_every_outcome(script, tmp_path, monkeypatch, capsys):
    import skelgraph.evaluate

    runs, results = tmp_path / "runs", tmp_path / "results"
    by_path = {}
    for seed, subsets in EVALUATIONS.items():
        for subset, e in subsets.items():
            unit = runs / "row" / f"seed{seed}" / subset
            (unit / subset).mkdir(parents=True)
            (unit / subset / "model.pt").write_bytes(b"")
            (unit / "summary.json").write_text("{}")
            record = results / "campaign" / "row" / f"seed{seed}" / f"{subset}.json"
            record.parent.mkdir(parents=True, exist_ok=True)
            record.write_text(json.dumps({"per_fold": {subset: {"top1": e["metrics"]["top1"]}}}))
            by_path[unit / subset / "model.pt"] = e
    (runs / "row" / "seed1" / "AS3" / "AS3").mkdir(parents=True)  # still training: no model.pt, no summary.json
    quality = tmp_path / "quality.json"
    quality.write_text(json.dumps({"swapped_legs": sorted(CROSSED)}))
    monkeypatch.setattr(skelgraph.evaluate, "evaluate_checkpoint", lambda path: by_path[Path(path)])
    script.main(["row", "--runs", str(runs), "--results", str(results), "--quality", str(quality), "--save", "e",
                 "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "e.json").read_text())["rows"]["row"]
    assert saved["units"]["seed0/AS1"] == {"top1": 0.5, "samples": 4,
                                           "wrong": {"a01_s02_e01": "B", "a02_s02_e01": "A"}}
    assert saved["pooled"]["units"] == 4 and saved["pooled"]["gap"]["top1"] == pytest.approx(
        script.unit_mean(all_outcomes(script)))
    assert "| s02 | 50.0% (3/6) | 33.3% (1/3) | 66.7% (2/3) |" in capsys.readouterr().out
    (runs / "row" / "seed1" / "AS3" / "summary.json").write_text("{}")  # finished, but its record is elsewhere
    (runs / "row" / "seed1" / "AS3" / "AS3" / "model.pt").write_bytes(b"")
    with pytest.raises(SystemExit, match="no record .*seed 1 AS3"):
        script.main(["row", "--runs", str(runs), "--results", str(results), "--quality", str(quality), "--out",
                     str(tmp_path)])


def test_group_table_from_the_saved_json(script, tmp_path, capsys):
    """--table reads the saved JSON only: pooled rates, Wilson intervals on one seed's count (the seeds share the
    test set), and the points each of the worst subject's groups costs at the other subjects' rate, worked out by
    hand: others 18 / 20 (two seeds of 10), s02 not crossed 2 / 4, crossed 0 / 4, total 20 / 28."""
    seq = {"other subjects, not crossed": {"right": 18, "samples": 20, "top1": 0.9},
           "s02, legs not crossed": {"right": 2, "samples": 4, "top1": 0.5},
           "crossed legs": {"right": 0, "samples": 4, "top1": 0.0}}
    saved = {"rows": {"toy": {"seeds": [0, 1], "worst_subject": 2, "pooled": {"sequences": seq}}}}
    (tmp_path / "errs.json").write_text(json.dumps(saved))
    script.main(["--table", "--out", str(tmp_path), "--save", "errs"])
    header, rule, line = capsys.readouterr().out.strip().splitlines()
    assert "(28 predictions)" in header and "other test subjects (20)" in header and "crossed legs (4)" in header
    cells = [c.strip() for c in line.strip("|").split("|")]
    low, high = script.wilson_interval(0.9, 10)
    assert cells[:3] == ["`toy`", "71.4%", f"90.0% ({low:.1%}-{high:.1%})"]
    # (0.9 - 0.5) x 4 / 28 = 5.7 points; (0.9 - 0) x 4 / 28 = 12.9 points
    assert cells[5] == "5.7 + 12.9 = 18.6"
    with pytest.raises(SystemExit):
        script.main(["--out", str(tmp_path)])  # neither rows nor --table
