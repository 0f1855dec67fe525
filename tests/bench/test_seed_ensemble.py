"""bench/seed_ensemble.py on a generated campaign layout: the checkpoints' evaluations are stand-ins (fixed
probabilities per seed and unit), so the test checks the script's bookkeeping and fusion against a plain
reference, and that a checkpoint which is not the one its unit tested is refused."""

import importlib.util
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_script():
    spec = importlib.util.spec_from_file_location("seed_ensemble", ROOT / "bench" / "seed_ensemble.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def campaign(tmp_path, seeds=3, units=2, samples=7, classes=4, seed=0):
    """Run folders with (empty) checkpoints, the unit records and the stand-in evaluations they must give."""
    rng = np.random.default_rng(seed)
    runs, results = tmp_path / "runs", tmp_path / "results"
    labels = {u: rng.integers(0, classes, samples) for u in range(units)}
    evaluations = {}
    for s, u in itertools.product(range(seeds), range(units)):
        run = runs / "row" / f"seed{s}" / str(u) / f"fold{u}"
        run.mkdir(parents=True)
        (run / "model.pt").write_bytes(b"")
        probabilities = rng.dirichlet(np.ones(classes), samples).astype(np.float32)
        top1 = float((probabilities.argmax(1) == labels[u]).mean())
        record = results / "campaign" / "row" / f"seed{s}" / f"{u}.json"
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({"per_fold": {str(u): {"top1": top1}}}))
        evaluations[run / "model.pt"] = {"names": [f"u{u}_{i}" for i in range(samples)], "labels": labels[u],
                                         "scores": probabilities, "metrics": {"top1": top1},
                                         "class_names": [f"c{k}" for k in range(classes)]}
    return runs, results, evaluations


def reference_fused_top1(members):
    """Plain loops: each sample's class with the largest summed probability, against its label."""
    correct = 0
    for i, label in enumerate(members[0]["labels"]):
        totals = [sum(float(m["scores"][i][k]) for m in members) for k in range(len(members[0]["scores"][i]))]
        correct += int(max(range(len(totals)), key=totals.__getitem__) == label)
    return correct / len(members[0]["labels"])


def test_ensembles_match_a_plain_reference_and_average_over_units(tmp_path, monkeypatch):
    import skelgraph.evaluate

    script = load_script()
    runs, results, evaluations = campaign(tmp_path)
    monkeypatch.setattr(skelgraph.evaluate, "evaluate_checkpoint", lambda path: evaluations[Path(path)])
    row = script.ensemble_row(runs, "row", results)
    assert row["units"] == 2 and row["seeds"] == [0, 1, 2]
    by_unit = {u: [evaluations[runs / "row" / f"seed{s}" / str(u) / f"fold{u}" / "model.pt"] for s in range(3)]
               for u in range(2)}
    for u, members in by_unit.items():
        got = row["per_unit"][str(u)]
        assert got["single"] == {str(s): m["metrics"]["top1"] for s, m in enumerate(members)}
        assert got["all"] == pytest.approx(reference_fused_top1(members))
        for a, b in itertools.combinations(range(3), 2):
            assert got["pairs"][f"{a}+{b}"] == pytest.approx(reference_fused_top1([members[a], members[b]]))
    assert row["all_seeds"] == pytest.approx(np.mean([reference_fused_top1(m) for m in by_unit.values()]))
    singles = [np.mean([by_unit[u][s]["metrics"]["top1"] for u in range(2)]) for s in range(3)]
    assert row["single_mean"] == pytest.approx(np.mean(singles))
    assert row["single_std"] == pytest.approx(np.std(singles, ddof=1))


def test_a_checkpoint_that_is_not_the_tested_model_is_refused(tmp_path, monkeypatch):
    import skelgraph.evaluate

    script = load_script()
    runs, results, evaluations = campaign(tmp_path)
    record = results / "campaign" / "row" / "seed1" / "0.json"
    record.write_text(json.dumps({"per_fold": {"0": {"top1": 1.5}}}))  # what no evaluation gives
    monkeypatch.setattr(skelgraph.evaluate, "evaluate_checkpoint", lambda path: evaluations[Path(path)])
    with pytest.raises(SystemExit, match="not the model the unit tested"):
        script.ensemble_row(runs, "row", results)
