"""Every benchmark script in ``bench/`` runs in its ``--tiny`` mode and writes the JSON it promises.

The scripts start together in subprocesses (they are mostly interpreter start-up and imports, so running them
side by side keeps the whole module near the time of the slowest one) and write to a temporary folder, never
over the committed results. Speed is never asserted; the FLOP benchmark's analytic count is checked against
``FlopCounterMode`` exactly, since both count the same matrix products.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((ROOT / "bench").glob("bench_*.py"))
TIMEOUT_S = 300


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory) -> dict[str, tuple[subprocess.Popen, Path]]:
    out_dir = tmp_path_factory.mktemp("bench")
    runs = {}
    for script in SCRIPTS:
        out = out_dir / f"{script.stem}.json"
        proc = subprocess.Popen([sys.executable, str(script), "--tiny", "--out", str(out)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        runs[script.name] = (proc, out)
    yield runs
    for proc, _ in runs.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def finished(tiny_runs, name: str) -> dict:
    proc, out = tiny_runs[name]
    try:
        log, _ = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"{name} --tiny did not finish in {TIMEOUT_S} s")
    assert proc.returncode == 0, f"{name} --tiny failed:\n{log}"
    assert out.exists(), f"{name} --tiny wrote no JSON to --out:\n{log}"
    return json.loads(out.read_text())


def test_scripts_found() -> None:
    names = {s.name for s in SCRIPTS}
    assert {"bench_flops.py", "bench_epoch.py", "bench_rrn.py", "bench_st_lstm.py", "bench_parse_ntu.py",
            "bench_online.py"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.stem)
def test_has_tiny_mode(script: Path) -> None:
    text = script.read_text()
    assert '"--tiny"' in text and '"--out"' in text, f"{script.name} needs --tiny and --out options for CI"


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.stem)
def test_tiny_run_writes_json(tiny_runs, script: Path) -> None:
    result = finished(tiny_runs, script.name)
    assert isinstance(result, dict) and result


@pytest.mark.slow
def test_flops_tiny(tiny_runs) -> None:
    result = finished(tiny_runs, "bench_flops.py")
    assert [r["model"] for r in result["rows"]] == ["arrn", "gca", "gca2"]
    for row in result["rows"]:
        flops, counter = row["flops"], row["flop_counter"]
        # The analytic executed count, minus the kernels FlopCounterMode has no formula for, is its count.
        assert flops["flop_counter_visible_executed"] == pytest.approx(counter["forward"] + counter["backward"])
        assert flops["executed_flops"] >= flops["flop_counter_visible_executed"]
        assert flops["model_flops"] == pytest.approx(
            sum(c["forward"] + c["backward"] for c in flops["components"].values()))
        assert row["gemm_rate"] > 0 and row["best_step_wall_s"] > 0 and row["fraction"] > 0
    profiled = [r for r in result["rows"] if "profile" in r]
    assert profiled and all(r["profile"]["top_ops"] for r in profiled)


@pytest.mark.slow
def test_epoch_tiny(tiny_runs) -> None:
    result = finished(tiny_runs, "bench_epoch.py")
    assert [r["model"] for r in result["rows"]] == ["arrn", "gca", "gca2", "st_lstm"]
    batch = result["sizes"]["batch"]
    for row in result["rows"]:
        assert len(row["batch_s"]) == result["sizes"]["warmup"] + result["sizes"]["batches"]
        # Every sample has one or two bodies.
        assert all(batch <= s <= 2 * batch for s in row["batch_skeletons"])
        assert row["epoch_s"] > 0


@pytest.mark.slow
def test_st_lstm_tiny_reports_the_gemm_ceiling(tiny_runs) -> None:
    result = finished(tiny_runs, "bench_st_lstm.py")
    layers = [r for r in result["rows"] if r["name"].startswith("layer")]
    assert layers
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from bench_flops import Count, _st_lstm
    finally:
        sys.path.pop(0)
    for row in layers:
        S, L, T = (int(part.split("=")[1]) for part in row["name"].split()[1:])
        count = Count()
        _st_lstm(count, "layer", S, L, T, 3, result["hidden"], input_grad=False)
        # The same analytic FLOPs as the FLOP benchmark's model count of a first layer.
        assert row["gflop"] * 1e9 == pytest.approx(count.total("forward") + count.total("backward"))
        assert row["ceiling_ratio"] == pytest.approx(row["best_s"]["loop"] * row["gemm_gflops"] / row["gflop"])


@pytest.mark.slow
def test_online_tiny(tiny_runs) -> None:
    result = finished(tiny_runs, "bench_online.py")
    assert [(r["model"], r["mode"]) for r in result["rows"]] == [("arrn", "incremental"), ("arrn", "window"),
                                                                ("gca", "window")]
    for row in result["rows"]:
        assert row["frames"] == result["frames"] and 0 < row["median_ms"] <= row["p99_ms"]
