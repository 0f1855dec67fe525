"""bench/accuracy_summary.py on generated run summaries (made up figures, not results)."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("accuracy_summary", ROOT / "bench" / "accuracy_summary.py")
accuracy_summary = importlib.util.module_from_spec(spec)
spec.loader.exec_module(accuracy_summary)


def _run(folder: Path, top1: list[float], best: list[float]) -> Path:
    folder.mkdir()
    per_fold = {str(k): {"top1": a, "samples": 50, "wall_seconds": 60.0,
                         "optimistic_best_test": {"top1": b, "epoch": 3}} for k, (a, b) in enumerate(zip(top1, best))}
    (folder / "summary.json").write_text(json.dumps({"summary": {}, "per_fold": per_fold}))
    return folder


def test_rows_average_folds_then_seeds(tmp_path):
    a = _run(tmp_path / "s0", [0.8, 0.9], [0.9, 1.0])
    b = _run(tmp_path / "s1", [0.7, 0.8], [0.8, 0.9])
    row = accuracy_summary.collect([a, b])
    assert row["mean"] == pytest.approx(0.8) and row["seeds"] == 2 and row["std_over"] == "seeds"
    assert row["std"] == pytest.approx(((0.85 - 0.8) ** 2 * 2) ** 0.5)  # sample std of the seed means 0.85, 0.75
    assert row["per_fold"] == pytest.approx({"0": 0.75, "1": 0.85})
    assert row["best_test_epoch_mean"] == pytest.approx(0.9) and row["minutes"] == pytest.approx(2.0)
    one = accuracy_summary.collect([a])
    assert one["std_over"] == "folds" and one["std"] == pytest.approx(0.0707, abs=1e-4)
    text = accuracy_summary.table([{"dataset": "sbu", "protocol": "5-fold", "model": "gca", "training": "direct",
                                    "paper": 0.941, "command": "python recipes/gca_lstm_sbu.py", **row}])
    assert "| sbu, 5-fold | gca, direct | **80.0%**" in text and "| 94.1% |" in text
    named = accuracy_summary.table([{"dataset": "sbu", "protocol": "5-fold", "model": "gca", "training": "direct",
                                     "paper": None, "command": "c", "config": "recipes/configs/sbu_gca.json", **row}])
    assert "| [sbu_gca.json](recipes/configs/sbu_gca.json) | `c` |" in named
    noted = accuracy_summary.table([{"dataset": "sbu", "protocol": "5-fold", "model": "st-lstm", "training": "direct",
                                     "paper": 0.933, "paper_note": "ST-LSTM with trust gate", "command": "c", **row}])
    assert "| 93.3% (ST-LSTM with trust gate) |" in noted


def test_runs_with_other_folds_are_refused(tmp_path):
    a = _run(tmp_path / "s0", [0.8, 0.9], [0.9, 1.0])
    b = _run(tmp_path / "s1", [0.7], [0.8])
    with pytest.raises(SystemExit, match="folds"):
        accuracy_summary.collect([a, b])


def test_seed_folders_of_per_fold_files_merge_like_one_summary(tmp_path):
    whole = _run(tmp_path / "whole", [0.8, 0.9], [0.9, 1.0])
    split = tmp_path / "split"
    split.mkdir()
    per_fold = json.loads((whole / "summary.json").read_text())["per_fold"]
    for k, v in per_fold.items():
        (split / f"{k}.json").write_text(json.dumps({"command": "x", "per_fold": {k: v}}))
    (split / "0.log.jsonl").write_text('{"epoch": 1}\n')  # curves beside the summaries are not results
    assert accuracy_summary.collect([split]) == {**accuracy_summary.collect([whole]), "runs": [str(split)]}
    inside = accuracy_summary.ROOT / "bench" / "results" / "accuracy" / "campaign"
    assert accuracy_summary._shown(inside) == "bench/results/accuracy/campaign"  # no machine's absolute path
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit, match="neither"):
        accuracy_summary.collect([tmp_path / "empty"])


def _campaign(monkeypatch):
    spec = importlib.util.spec_from_file_location("accuracy_campaign", ROOT / "bench" / "accuracy_campaign.py")
    campaign = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "accuracy_campaign", campaign)  # dataclasses look their module up
    spec.loader.exec_module(campaign)
    return campaign


@pytest.mark.slow
def test_campaign_stores_finished_units_skips_them_and_adds_the_row(tmp_path, monkeypatch):
    campaign = _campaign(monkeypatch)
    monkeypatch.setattr(campaign, "STORE", tmp_path / "store")
    monkeypatch.setattr(campaign, "RUNS", ROOT / "runs" / "test_campaign" / tmp_path.name)
    monkeypatch.setattr(accuracy_summary, "SUMMARY", tmp_path / "summary.json")
    row = campaign.Row("tiny", "sbu", "5-fold", "st-lstm", "direct", None,
                       ("python", "recipes/gca_lstm_sbu.py", "--model", "st-lstm", "--tiny", "--epochs", "1",
                        "--selection", "none", "--hidden", "8", "--T", "6"), "--folds", ("0", "1"))
    assert campaign.run_unit(row, 0, "0")
    stored = json.loads(campaign.unit_store(row, 0, "0").read_text())
    assert list(stored["per_fold"]) == ["0"] and "--folds 0 --seed 0" in stored["command"]
    assert campaign.unit_store(row, 0, "0").with_suffix(".log.jsonl").exists()  # the per-epoch curve
    assert campaign.seed_dirs(row, [0]) is None  # fold 1 still missing
    log = (tmp_path / "store" / "commands.log").read_text()
    assert log.count("start tiny seed 0 0") == 1 and "end tiny seed 0 0: test top-1" in log
    assert campaign.run_unit(row, 0, "0")  # finished before: skipped
    assert (tmp_path / "store" / "commands.log").read_text() == log
    assert campaign.run_unit(row, 0, "1")
    row_dirs = campaign.seed_dirs(row, [0])
    assert accuracy_summary.collect(row_dirs)["per_fold"].keys() == {"0", "1"}
    import shutil

    shutil.rmtree(ROOT / "runs" / "test_campaign" / tmp_path.name)
    if not any((ROOT / "runs" / "test_campaign").iterdir()):  # no empty folder left behind
        (ROOT / "runs" / "test_campaign").rmdir()


def test_campaign_processes_share_units_through_claims(tmp_path, monkeypatch):
    campaign = _campaign(monkeypatch)
    held = tmp_path / "seed0" / "0.claim"
    assert campaign.claim(held) and held.read_text() == str(os.getpid())
    assert not campaign.claim(held), "held by a living process: skipped"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    held.write_text(str(gone.pid))
    assert campaign.claim(held) and held.read_text() == str(os.getpid()), "a dead process's claim is taken over"
    held.write_text("")
    assert campaign.claim(held), "a half-written claim is taken over"


def test_campaign_units_option_starts_at_most_n_units_and_leaves_no_claim(tmp_path, monkeypatch):
    campaign = _campaign(monkeypatch)
    monkeypatch.setattr(campaign, "STORE", tmp_path / "store")
    monkeypatch.setattr(campaign, "RUNS", tmp_path / "runs")
    ran = []

    def fake_run(row, seed, fold, store, out):  # stands in for the recipe: records the unit and stores it
        ran.append((seed, fold))
        store.parent.mkdir(parents=True, exist_ok=True)
        store.write_text("{}")
        return True

    monkeypatch.setattr(campaign, "_run_claimed", fake_run)
    monkeypatch.setattr(campaign, "add_row", lambda row, seeds: None)
    row = campaign.Row("tiny", "sbu", "5-fold", "st-lstm", "direct", None, ("python", "x.py"), "--folds",
                       ("0", "1", "2"))
    monkeypatch.setitem(campaign.ROWS, "tiny", row)
    campaign.main(["tiny", "--seeds", "0", "1", "--jobs", "2", "--units", "3"])
    assert len(ran) == 3 and len(set(ran)) == 3
    campaign.main(["tiny", "--seeds", "0", "1", "--jobs", "1", "--units", "2"])
    assert len(ran) == 5, "finished units are skipped and do not count"
    assert not list((tmp_path / "runs").rglob("*.claim")), "units not started give their claims back"
    campaign.main(["tiny", "--seeds", "0", "1", "--jobs", "1"])
    assert sorted(ran) == [(s, f) for s in (0, 1) for f in ("0", "1", "2")]


def test_wilson_interval_matches_its_formula_and_brackets_the_proportion():
    """Against values computed by hand from the score interval's definition (the roots in p of
    (p_hat - p)^2 = z^2 p (1 - p) / n), and the edge cases that the normal approximation gets wrong."""
    z = 1.959963984540054
    for p_hat, n in [(0.5, 100), (0.872, 328), (1.0, 55), (0.0, 20), (0.93, 282)]:
        lo, hi = accuracy_summary.wilson_interval(p_hat, n)
        for root in (lo, hi):
            if 0 < root < 1:
                assert (p_hat - root) ** 2 == pytest.approx(z * z * root * (1 - root) / n, rel=1e-9)
        assert lo <= p_hat <= hi
    assert accuracy_summary.wilson_interval(0.5, 100) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    assert accuracy_summary.wilson_interval(1.0, 55)[1] == 1.0 and accuracy_summary.wilson_interval(1.0, 55)[0] < 1
    with pytest.raises(ValueError):
        accuracy_summary.wilson_interval(0.5, 0)


def test_rows_carry_the_pooled_accuracy_and_its_test_set_interval(tmp_path):
    a = _run(tmp_path / "s0", [0.8, 0.9], [0.9, 1.0])  # 40 + 45 of 100
    b = _run(tmp_path / "s1", [0.7, 0.8], [0.8, 0.9])  # 35 + 40 of 100
    row = accuracy_summary.collect([a, b])
    assert row["test_samples"] == 100 and row["pooled_top1"] == pytest.approx(0.8)
    assert row["test_ci95"] == pytest.approx(list(accuracy_summary.wilson_interval(0.8, 100)))
    text = accuracy_summary.table([{"dataset": "d", "protocol": "p", "model": "m", "training": "t", "paper": None,
                                    "command": "c", **row}])
    lo, hi = row["test_ci95"]
    assert f"| {lo:.1%}-{hi:.1%} (n=100) |" in text


def test_committed_summary_recomputes_from_its_unit_files():
    """Every committed row's figures are what its stored run folders give (nothing edited by hand)."""
    for row in json.loads((ROOT / "bench/results/accuracy/summary.json").read_text()):
        fresh = accuracy_summary.collect([ROOT / r for r in row["runs"]])
        for key, value in fresh.items():
            assert row[key] == (pytest.approx(value) if isinstance(value, float) else value), (row["model"], key)
