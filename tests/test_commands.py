"""The practitioner's commands end to end on tiny generated (synthetic) data: ``skelgraph.train`` on a PYSKL file of
2-D COCO keypoints with scores, ``skelgraph.evaluate`` (its scores reproduce the run's ``metrics.json``; score
fusion), ``skelgraph.predict`` on the file and on a stream of frames; a layout of one's own trained, then evaluated
and predicted in a fresh process that has never heard of it; one-line errors."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pose_files import pose_clip, pyskl_content, write_pyskl

from skelgraph.evaluate import main as evaluate_main
from skelgraph.predict import main as predict_main
from skelgraph.train import main as train_main

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--epochs", "2", "--T", "6", "--val-fraction", "0.25", "--no-progress", "--log-every", "0"]
ARRN = ["--model", "arrn", "--M", "6", "--E", "1", "--preset", "msr", "--score-channel", "--velocity"]
GCA = ["--model", "gca", "--training", "direct", "--hidden", "4", "--N", "1"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One PYSKL file, an ARRN-LSTM run (scores and velocity as channels) and a GCA-LSTM run on it."""
    folder = tmp_path_factory.mktemp("pose")
    data = write_pyskl(folder / "data.pkl", T=(6, 9))
    common = ["--data", str(data), "--layout", "coco17", "--train-split", "xsub_train", "--test-split", "xsub_val"]
    results = {}
    for name, model in (("arrn", ARRN), ("gca", GCA)):
        results[name] = train_main([*common, *model, *TINY, "--out", str(folder / name)])
    return folder, data, results


@pytest.mark.slow
def test_train_writes_a_complete_run(runs):
    folder, _, results = runs
    for name in ("arrn", "gca"):
        run = folder / name
        for file in ("model.pt", "last.pt", "metrics.json", "config.json", "provenance.json", "curves.png"):
            assert (run / file).exists(), (name, file)
        assert results[name]["test"]["samples"] == 6
    meta = results["arrn"]["meta"]
    assert meta["dataset"]["name"] == "pyskl" and meta["dataset"]["test_split"] == "xsub_val"
    assert meta["pipeline"]["layout"]["name"] == "coco17" and meta["pipeline"]["score"] is True
    assert meta["model"]["kwargs"]["in_channels"] == 2 * 2 + 1  # x, y, their velocity, the score


def test_evaluate_reproduces_metrics_json_and_fuses(runs, capsys):
    folder, data, _ = runs
    for name in ("arrn", "gca"):
        scores = folder / f"{name}.npz"
        assert evaluate_main(["--checkpoint", str(folder / name / "model.pt"), "--scores", str(scores)]) == 0
        metrics = json.loads((folder / name / "metrics.json").read_text())["test"]
        saved = np.load(scores, allow_pickle=False)
        assert saved["scores"].shape == (6, 3) and np.allclose(saved["scores"].sum(1), 1, atol=1e-5)
        assert list(saved["names"]) == pyskl_content(T=(6, 9))["split"]["xsub_val"]
        top1 = float((saved["scores"].argmax(1) == saved["labels"]).mean())
        assert top1 == pytest.approx(metrics["top1"])
        out = capsys.readouterr().out
        assert f"top-1 {metrics['top1']:.2%}" in out and "mean class accuracy" in out
        # The same split named explicitly, from the file, gives the same scores.
        again = folder / f"{name}_again.npz"
        assert evaluate_main(["--checkpoint", str(folder / name / "model.pt"), "--data", str(data), "--split",
                              "xsub_val", "--scores", str(again)]) == 0
        np.testing.assert_allclose(np.load(again)["scores"], saved["scores"], rtol=1e-5, atol=1e-6)
    fused = folder / "fused.npz"
    assert evaluate_main(["--fuse", str(folder / "arrn.npz"), str(folder / "gca.npz"), "--weights", "1", "3",
                          "--scores", str(fused)]) == 0
    a, g = np.load(folder / "arrn.npz"), np.load(folder / "gca.npz")
    np.testing.assert_allclose(np.load(fused)["scores"], (a["scores"] + 3 * g["scores"]) / 4, rtol=1e-6)
    assert "fused (1, 3): top-1" in capsys.readouterr().out


def test_predict_files_and_stream(runs, capsys, monkeypatch):
    folder, data, _ = runs
    assert predict_main(["--checkpoint", str(folder / "arrn" / "model.pt"), str(data), "--split", "xsub_val",
                         "--top", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6 * 3 and lines[0].startswith(f"{data}:S001")
    keypoint, score = pose_clip(np.random.default_rng(3), 1, 5)
    frames = [json.dumps({"keypoints": keypoint[0, t].tolist(), "score": score[0, t].tolist()}) for t in range(5)]
    frames.insert(2, "")  # blank lines are skipped
    for model in ("arrn", "gca"):
        monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(frames) + "\n"))
        assert predict_main(["--checkpoint", str(folder / model / "model.pt"), "--stream", "--top", "3"]) == 0
        out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [o["frame"] for o in out] == [1, 2, 3, 4, 5]
        assert all(abs(sum(p for _, p in o["top"]) - 1) < 1e-4 for o in out)
    # A bad line is reported (line number, reason) and the stream goes on; --strict stops at it (exit 2).
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"keypoints": [[1, 2]]}\n' + frames[0] + "\n"))
    assert predict_main(["--checkpoint", str(folder / "arrn" / "model.pt"), "--stream"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 1 and "<stdin>, line 1" in captured.err.splitlines()[0]
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"keypoints": [[1, 2]]}\n'))
    assert predict_main(["--checkpoint", str(folder / "arrn" / "model.pt"), "--stream", "--strict"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "<stdin>, line 1" in err[0]


@pytest.mark.slow
def test_custom_layout_trained_then_evaluated_and_predicted_in_a_fresh_process(tmp_path):
    """The layout exists only as a JSON file during training; the fresh process gets it from the checkpoint."""
    layout = {"name": "my_stick", "joints": ["head", "neck", "hip", "lknee", "rknee"],
              "bones": [["head", "neck"], ["neck", "hip"], ["hip", "lknee"], ["hip", "rknee"]],
              "center": ["neck", "hip"], "up": "-y", "ndim": 2}
    (tmp_path / "stick.json").write_text(json.dumps(layout))
    data = tmp_path / "clips"
    data.mkdir()
    rng = np.random.default_rng(0)
    rows = ["name,label,split"]
    for k in range(8):
        xy = rng.normal(size=(7, 5, 2)) * 20 + 200
        xy[:, k % 2, 0] += 15 * np.sin(np.arange(7))  # the class moves the head or the neck
        frames = np.concatenate([xy, rng.uniform(0.2, 1, (7, 5, 1))], axis=-1)  # x, y, score
        np.save(data / f"c{k}.npy", frames.astype(np.float32))
        rows.append(f"c{k},{['nod', 'sway'][k % 2]},{'train' if k < 6 else 'test'}")
    (data / "labels.csv").write_text("\n".join(rows) + "\n")
    train_main(["--data", str(data), "--layout", str(tmp_path / "stick.json"), *ARRN[:8], *TINY,
                "--out", str(tmp_path / "run")])
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    model = str(tmp_path / "run" / "model.pt")
    outputs = []
    for argv in (["skelgraph.evaluate", "--checkpoint", model, "--scores", str(tmp_path / "s.npz")],
                 ["skelgraph.predict", "--checkpoint", model, str(data / "c7.npy")]):
        out = subprocess.run([sys.executable, "-m", *argv], capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode == 0, out.stderr
        outputs.append(out.stdout)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]
    assert f"top-1 {metrics['top1']:.2%}" in outputs[0] and "c7.npy" in outputs[1]
    assert set(np.load(tmp_path / "s.npz")["class_names"]) == {"nod", "sway"}


def one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_user_errors_are_one_line(runs, tmp_path, capsys):
    from skelgraph.training.runs import cli_main

    folder, data, _ = runs
    common = ["--data", str(data), "--layout", "coco17", "--epochs", "1", "--out", str(tmp_path / "r")]
    assert cli_main(train_main, [*common, "--train-split", "nope"]) == 2
    line = one_line(capsys)
    assert "unknown split 'nope'" in line and "xsub_train" in line
    assert cli_main(train_main, [*common[:2], "--layout", "no_such_layout", *common[4:]]) == 2
    assert "unknown layout" in one_line(capsys)
    with pytest.raises(SystemExit) as exit_:
        train_main(["--layout", "coco17"])
    assert exit_.value.code == 2 and "--data" in one_line(capsys)
    assert evaluate_main(["--fuse", str(folder / "arrn.npz")]) == 2
    assert "at least two" in one_line(capsys)
    np.savez(tmp_path / "other.npz", names=np.array(["x"]), labels=np.array([0]), scores=np.ones((1, 3)),
             class_names=np.array(["0", "1", "2"]))
    assert evaluate_main(["--fuse", str(folder / "gca.npz"), str(tmp_path / "other.npz")]) == 2
    assert "other samples" in one_line(capsys)
    assert evaluate_main(["--checkpoint", str(folder / "arrn" / "model.pt"), "--scores", str(tmp_path / "s.txt")]) == 2
    assert ".npz" in one_line(capsys)


def test_help_of_every_command(capsys):
    for main, argv, expected in ((train_main, ["--help"], "--score-channel"),
                                 (train_main, ["--model", "gca", "--help"], "--training"),
                                 (evaluate_main, ["--help"], "--fuse"), (predict_main, ["--help"], "--stream")):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 0 and expected in capsys.readouterr().out
