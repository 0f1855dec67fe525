"""bench/ensemble_rows.py on a generated campaign layout of the two MSR stream rows (three seeds, AS1-AS3; one
unit of the line row unfinished, as in the ladder): the checkpoints' evaluations are stand-ins (fixed
probabilities per seed, unit and clip count), so the test checks the entries' bookkeeping and fusion against
plain loops, that unfinished units are named and left out, and that a row with no run folder is named, not fatal."""

import importlib.util
import itertools
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
ROWS = ("msr_arrn_joint", "msr_arrn_line")
UNITS = ("AS1", "AS2", "AS3")
UNFINISHED = ("msr_arrn_line", 2, "AS3")


@pytest.fixture
def script(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))  # it imports seed_ensemble and friends as the scripts do
    spec = importlib.util.spec_from_file_location("ensemble_rows", ROOT / "bench" / "ensemble_rows.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "ensemble_rows", module)  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def campaign(tmp_path, classes=4):
    """Run folders (empty checkpoints; a summary.json where the unit finished), unit records, and the stand-in
    evaluation of every checkpoint for 1 and 3 clips."""
    rng = np.random.default_rng(0)
    runs, records = tmp_path / "runs", tmp_path / "results"
    samples = {u: 5 + k for k, u in enumerate(UNITS)}
    labels = {u: rng.integers(0, classes, samples[u]) for u in UNITS}
    evaluations = {}
    for row, s, u in itertools.product(ROWS, range(3), UNITS):
        run = runs / row / f"seed{s}" / u / u
        run.mkdir(parents=True)
        if (row, s, u) == UNFINISHED:
            continue  # still training: no model.pt, no summary.json
        (run / "model.pt").write_bytes(b"")
        (run.parent / "summary.json").write_text("{}")
        for clips in (1, 3):
            probabilities = rng.dirichlet(np.ones(classes), samples[u]).astype(np.float32)
            top1 = float((probabilities.argmax(1) == labels[u]).mean())
            evaluations[run / "model.pt", clips] = {
                "names": [f"{u}_{i}" for i in range(samples[u])], "labels": labels[u], "scores": probabilities,
                "metrics": {"top1": top1}, "class_names": [f"c{k}" for k in range(classes)]}
        record = records / "campaign" / row / f"seed{s}" / f"{u}.json"
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({"per_fold": {u: {"top1": evaluations[run / "model.pt", 1]["metrics"]["top1"]}}}))
    return runs, records, evaluations


def member(runs, evaluations, row, s, u, clips=1):
    return evaluations[runs / row / f"seed{s}" / u / u / "model.pt", clips]


def reference(members):
    """Plain loops: (correct, samples) of the class with the largest summed probability."""
    correct = 0
    for i, label in enumerate(members[0]["labels"]):
        totals = [sum(float(m["scores"][i][k]) for m in members) for k in range(len(members[0]["scores"][i]))]
        correct += int(max(range(len(totals)), key=totals.__getitem__) == label)
    return correct, len(members[0]["labels"])


def wilson(p, n, z=1.959963984540054):
    return ((p + z * z / (2 * n) - z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n),
            (p + z * z / (2 * n) + z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n))


def check(entry, groups):
    """``groups``: lists of member evaluations; the entry's figures from plain loops over them."""
    counts = [reference(g) for g in groups]
    assert [(g["correct"], g["samples"]) for g in entry["groups"]] == counts
    assert entry["top1_mean"] == pytest.approx(np.mean([c / n for c, n in counts]))
    correct, total = map(sum, zip(*counts))
    assert (entry["correct"], entry["total"]) == (correct, total)
    assert entry["pooled_top1"] == pytest.approx(correct / total)
    assert entry["test_ci95"] == pytest.approx(wilson(correct / total, entry["test_samples"]))


def test_entries_match_plain_loops_and_name_what_is_missing(script, tmp_path, monkeypatch, capsys):
    import skelgraph.evaluate

    runs, records, evaluations = campaign(tmp_path)
    monkeypatch.setattr(skelgraph.evaluate, "evaluate_checkpoint",
                        lambda path, clips=1: evaluations[Path(path), clips])
    save = tmp_path / "ensembles.json"
    save.write_text(json.dumps({"rows": {"earlier_row": {"entries": {}}}}))
    script.main(["no_such_row", *ROWS, "--streams", *ROWS, "--runs", str(runs), "--results", str(records),
                 "--clips", "3", "--save", str(save)])
    out = capsys.readouterr().out
    assert f"no_such_row: missing (no finished unit folder under {runs}): no_such_row: no finished unit" in out
    assert "msr_arrn_line: missing (no finished unit folder under" in out and "msr_arrn_line seed2 AS3" in out
    saved = json.loads(save.read_text())
    assert set(saved["rows"]) == {"earlier_row", *ROWS, "+".join(ROWS)}, "rows already there are kept"
    joint, line, both = (saved["rows"][k]["entries"] for k in (*ROWS, "+".join(ROWS)))
    one = lambda row, s, u: member(runs, evaluations, row, s, u)  # noqa: E731
    many = lambda row, s, u: member(runs, evaluations, row, s, u, 3)  # noqa: E731
    finished = {row: [(s, u) for s in range(3) for u in UNITS if (row, s, u) != UNFINISHED] for row in ROWS}

    # Single models are the recorded figures; the clips entry the same models' 3-clip evaluations.
    for row, entries in zip(ROWS, (joint, line)):
        check(entries["single"], [[one(row, s, u)] for s, u in finished[row]])
        assert [g["top1"] for g in entries["single"]["groups"]] == \
            [one(row, s, u)["metrics"]["top1"] for s, u in finished[row]]
        check(entries["clips"], [[many(row, s, u)] for s, u in finished[row]])
        assert entries["single"]["test_samples"] == 5 + 6 + 7
    assert line["single"]["missing"] == ["msr_arrn_line seed2 AS3"] and joint["single"]["missing"] == []
    # Seed ensembles: every unit of the joint row; the line row's AS3 lacks seed 2 and is left out, named.
    check(joint["seeds"], [[one(ROWS[0], s, u) for s in range(3)] for u in UNITS])
    check(joint["seeds_clips"], [[many(ROWS[0], s, u) for s in range(3)] for u in UNITS])
    check(line["seeds"], [[one(ROWS[1], s, u) for s in range(3)] for u in UNITS[:2]])
    assert line["seeds"]["test_samples"] == 5 + 6 and any("AS3" in m for m in line["seeds"]["missing"])
    # Streams: the (seed, unit) pairs both rows finished; all seeds of both on the complete units.
    pairs = [(s, u) for s, u in finished[ROWS[1]]]
    check(both["streams"], [[one(ROWS[0], s, u), one(ROWS[1], s, u)] for s, u in pairs])
    assert both["streams"]["members_single_mean"] == pytest.approx(np.mean(
        [(one(ROWS[0], s, u)["metrics"]["top1"] + one(ROWS[1], s, u)["metrics"]["top1"]) / 2 for s, u in pairs]))
    check(both["streams_clips"], [[many(ROWS[0], s, u), many(ROWS[1], s, u)] for s, u in pairs])
    check(both["streams_seeds_clips"], [[many(row, s, u) for row in ROWS for s in range(3)] for u in UNITS[:2]])
    assert "no_such_row" not in saved["rows"]


def test_a_checkpoint_that_is_not_the_tested_model_is_refused(script, tmp_path, monkeypatch):
    import skelgraph.evaluate

    runs, records, evaluations = campaign(tmp_path)
    (records / "campaign" / ROWS[0] / "seed1" / "AS2.json").write_text(json.dumps({"per_fold": {"AS2": {"top1": 1.5}}}))
    monkeypatch.setattr(skelgraph.evaluate, "evaluate_checkpoint",
                        lambda path, clips=1: evaluations[Path(path), clips])
    with pytest.raises(SystemExit, match="not the model the unit tested"):
        script.main([ROWS[0], "--runs", str(runs), "--results", str(records), "--clips", "3",
                     "--save", str(tmp_path / "e.json")])
