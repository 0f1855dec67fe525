"""Checkpoints are data from a file (:mod:`skelgraph.inference`): hostile or damaged ones are refused with one line
naming the file and what is refused (spec fields, class names, NaN weights, mismatched weights, the global a pickle
asks for, pickles that would crash or exhaust the loader, special files), before anything large is allocated;
results are never non-finite (the file, sample or frame is named instead). Checkpoints: an untrained small
ARRN-LSTM built here; skeleton files: a bundled real MSR Action3D file, mutated."""

import io
import json
import os
import pickle
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from skelgraph.inference import Predictor, load_for_inference
from skelgraph.nn import ARRNLSTM
from skelgraph.online import OnlinePredictor
from skelgraph.predict import main as predict_main
from skelgraph.predict import predict_stream
from skelgraph.skeleton import NTU
from skelgraph.training.checkpoint import (
    CheckpointError,
    export_model,
    load_checkpoint,
    save_checkpoint,
)
from skelgraph.training.registry import model_spec, pipeline_spec

ROOT = Path(__file__).resolve().parents[1]
MSR = ROOT / "datasets/msr_action3d/raw/MSRAction3DSkeletonReal3D"


def small(num_classes=3):
    torch.manual_seed(0)
    return ARRNLSTM.from_paper("msr", num_classes=num_classes, M=4, E=1, att_channels=4, lstm_sizes=(4,), T=6)


def write(path, *, model=None, names=None, pipeline=None, weights=None, **meta_changes):
    model = model or small()
    meta = {"model": model_spec(model), "pipeline": pipeline or pipeline_spec("msr_action3d", 6)}
    for key, value in meta_changes.items():
        meta["model"]["kwargs"][key] = value
    state = weights if weights is not None else {k: v.clone() for k, v in model.state_dict().items()}
    save_checkpoint(path, {"format": "skelgraph-model/1", "model": state, "meta": meta,
                           "class_names": names if names is not None else ["a", "b", "c"]})
    return path


def one_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.fixture(scope="module")
def msr_file():
    return sorted(MSR.glob("*_skeleton3D.txt"))[0]


def test_a_good_checkpoint_loads(tmp_path):
    loaded = load_for_inference(write(tmp_path / "m.pt"))
    assert loaded.class_names == ["a", "b", "c"] and not loaded.model.training


@pytest.mark.parametrize("change, message", [
    (dict(E=10**9), "E must be an integer in 1..64"),
    (dict(message_layers=10**7), "message_layers must be"),
    (dict(lstm_sizes=[12000]), "lstm_sizes must be"),
    (dict(lstm_sizes=[8000]), "parameters, above the limit"),
    (dict(dropout=float("nan")), "dropout must be a finite number"),
    (dict(names="abc"), "class_names must be a non-empty list"),
    (dict(names=["a", "b"]), "2 class names for a model of 3 classes"),
    (dict(names=["a", "b", 3]), "class_names must be a non-empty list"),
    (dict(pipeline={**pipeline_spec("msr_action3d", 6), "T": 10**9}), "T must be an integer"),
    (dict(pipeline={**pipeline_spec("msr_action3d", 6), "T": 6.5}), "T must be an integer"),
    (dict(pipeline={**pipeline_spec("msr_action3d", 6), "sampling": "odd"}), "sampling must be one of"),
])
def test_refused_specs_name_the_field_in_one_line(tmp_path, capsys, msr_file, change, message):
    path = write(tmp_path / "m.pt", **change)
    started = time.perf_counter()
    with pytest.raises(CheckpointError, match=message):
        load_for_inference(path)
    assert time.perf_counter() - started < 10
    assert predict_main(["--checkpoint", str(path), str(msr_file)]) == 2
    line = one_line(capsys)
    assert str(path) in line and message.split()[0] in line


def test_weights_nan_or_mismatched_are_refused_naming_the_keys(tmp_path, msr_file, capsys):
    model = small()
    state = model.state_dict()
    key = next(k for k, v in state.items() if v.is_floating_point())
    nan = {k: v.clone() for k, v in state.items()}
    nan[key].view(-1)[0] = float("nan")
    with pytest.raises(CheckpointError, match=f"the weight {key} holds NaN or Inf"):
        load_for_inference(write(tmp_path / "nan.pt", weights=nan))
    missing = {k: v for k, v in state.items() if k != key}
    with pytest.raises(CheckpointError, match=rf"missing: {key}"):
        load_for_inference(write(tmp_path / "missing.pt", weights=missing))
    shaped = dict(state, **{key: torch.zeros(7, 7)}, extra=torch.zeros(1))
    with pytest.raises(CheckpointError, match=r"unexpected: extra; other shapes: .*\(7, 7\) in the file"):
        load_for_inference(write(tmp_path / "shaped.pt", weights=shaped))
    assert predict_main(["--checkpoint", str(tmp_path / "nan.pt"), str(msr_file)]) == 2
    assert "holds NaN or Inf" in one_line(capsys)


class Payload:
    def __reduce__(self):
        return os.system, ("true",)


def zipped_pickle(data: bytes) -> bytes:
    """A torch-style archive whose data.pkl is ``data``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", data)
        archive.writestr("archive/version", "3\n")
    return buffer.getvalue()


def test_refusals_name_the_global_and_hostile_pickles_never_reach_torch(tmp_path):
    path = tmp_path / "code.pt"
    torch.save({"model": Payload()}, path)
    with pytest.raises(CheckpointError, match=r"the global (posix|os)\.system"):
        load_checkpoint(path)
    from fuzz_cases import HOSTILE_PICKLES, _deep_key

    for name, data in [("deep_key", _deep_key(1_000_000)), *HOSTILE_PICKLES.items()]:
        path = tmp_path / f"{name}.pt"
        path.write_bytes(zipped_pickle(data))
        started = time.perf_counter()
        with pytest.raises(CheckpointError) as err:
            load_checkpoint(path)
        assert "\n" not in str(err.value) and time.perf_counter() - started < 10, name
    bomb = tmp_path / "bomb.pt"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({}))
        archive.writestr("archive/data/0", b"\0" * 50_000_000)
    bomb.write_bytes(buffer.getvalue())
    with pytest.raises(CheckpointError, match="expand to 50,"):
        load_checkpoint(bomb)
    for special in ("fifo", "folder"):
        path = tmp_path / special
        os.mkfifo(path) if special == "fifo" else path.mkdir()
        with pytest.raises(CheckpointError, match="a regular file expected"):
            load_checkpoint(path)
    (tmp_path / "plain.pt").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(CheckpointError, match="not the zip archive"):
        load_checkpoint(tmp_path / "plain.pt")


def test_a_disk_full_during_a_write_is_one_line_and_exit_2_and_keeps_the_previous_file(tmp_path, monkeypatch,
                                                                                     capsys):
    from skelgraph.training.runs import cli_main

    path = tmp_path / "last.pt"
    save_checkpoint(path, {"epoch": 1})

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    assert cli_main(lambda _: save_checkpoint(path, {"epoch": 2, "w": torch.zeros(1000)})) == 2
    line = one_line(capsys)
    assert f"cannot write the checkpoint {path} (No space left on device)" in line
    monkeypatch.undo()
    assert load_checkpoint(path) == {"epoch": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]  # no temporary file left behind

    def torch_full(obj, f, *args, **kwargs):
        f.write(b"x" * 10)
        raise RuntimeError("[enforce fail at inline_container.cc:778] . PytorchStreamWriter failed writing file "
                           "data/0: file write failed")

    monkeypatch.setattr(torch, "save", torch_full)
    assert cli_main(lambda _: export_model(path, small(), {}, ["a", "b", "c"])) == 2
    assert "PytorchStreamWriter failed writing file" in one_line(capsys)
    monkeypatch.undo()
    assert load_checkpoint(path) == {"epoch": 1}


def overflowing_msr(tmp_path, msr_file, value="2e38"):
    """Joint 0 of every frame at ``value`` (finite float32; times the pipeline's scale of 4 it is not)."""
    lines = msr_file.read_text().splitlines()
    for k in range(0, len(lines), 20):
        lines[k] = " ".join([value, *lines[k].split()[1:]])
    path = tmp_path / msr_file.name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_predict_never_prints_a_non_finite_number(tmp_path, msr_file, capsys):
    model = write(tmp_path / "m.pt", pipeline=pipeline_spec("msr_action3d", 6, scale=4.0))
    bad = overflowing_msr(tmp_path, msr_file)
    assert predict_main(["--checkpoint", str(model), str(bad)]) == 2
    line = one_line(capsys)
    assert str(bad) in line and ("non-finite" in line or "not finite" in line)
    assert predict_main(["--checkpoint", str(model), str(msr_file)]) == 0
    out = capsys.readouterr().out
    assert "nan" not in out.lower() and "inf" not in out.lower() and "%" in out
    predictor = Predictor(model)
    assert torch.isfinite(predictor.probabilities([])).all()


def stream_lines(msr_file, bad: dict[int, str]) -> list[str]:
    rows = np.loadtxt(msr_file)[:, :3].reshape(-1, 20, 3)[:6]
    lines = [json.dumps(frame.tolist()) for frame in rows]
    for index, text in bad.items():
        lines.insert(index, text)
    return [line + "\n" for line in lines]


BAD_LINES = {1: "[[1, 2", 3: "[" * 100_000 + "]" * 100_000, 5: json.dumps([[10**400, 0, 0]] * 20),
             7: json.dumps([[3e38, -3e38, 3e38]] * 10 + [[-3e38, 3e38, -3e38]] * 10), 8: '{"joints": []}',
             9: json.dumps([[1, 2]] * 20)}


@pytest.mark.parametrize("stride", [1, 2])
def test_stream_reports_bad_lines_and_goes_on(tmp_path, msr_file, stride):
    model = write(tmp_path / "m.pt")
    out, errors = io.StringIO(), io.StringIO()
    frames = predict_stream(model, stream_lines(msr_file, BAD_LINES), out, top=2, errors=errors, stride=stride)
    assert frames == 6
    *reported, summary = errors.getvalue().strip().splitlines()
    assert [int(line.split("line ")[1].split(":")[0]) for line in reported] == [k + 1 for k in sorted(BAD_LINES)]
    assert summary == f"<stdin>: {len(BAD_LINES)} bad line(s) skipped, 6 frame(s) classified"
    results = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["frame"] for r in results] == list(range(1, 7))
    assert all(np.isfinite(p) for r in results for _, p in r["top"])
    # The same six good frames without the bad lines give the same probabilities: a bad line leaves no trace.
    clean = io.StringIO()
    predict_stream(model, stream_lines(msr_file, {}), clean, top=2, errors=io.StringIO(), stride=stride)
    assert clean.getvalue() == out.getvalue()


def test_stream_strict_stops_at_the_first_bad_line(tmp_path, msr_file, monkeypatch, capsys):
    model = write(tmp_path / "m.pt")
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(stream_lines(msr_file, {2: "[" * 100_000}))))
    assert predict_main(["--checkpoint", str(model), "--stream", "--strict"]) == 2
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 2 and "line 3" in captured.err
    assert len(captured.err.strip().splitlines()) == 1


def test_online_window_mode_is_untouched_by_a_bad_frame(tmp_path, msr_file):
    model = write(tmp_path / "m.pt")
    online = OnlinePredictor.from_checkpoint(model, mode="window", window=3)
    rows = np.loadtxt(msr_file)[:, :3].reshape(-1, 20, 3)[:4]
    for frame in rows[:2]:
        online.push(frame)
    with pytest.raises(ValueError):
        online.push(np.full((20, 3), 3e38) * np.sign(np.arange(60).reshape(20, 3) % 2 - 0.5))
    after = online.push(rows[2]).clone()
    fresh = OnlinePredictor.from_checkpoint(model, mode="window", window=3)
    for frame in rows[:3]:
        expected = fresh.push(frame)
    torch.testing.assert_close(after, expected)
    assert NTU.num_joints == 25


def test_online_and_predict_do_not_import_each_other():
    import ast

    for module, other in (("online", "predict"), ("predict", "online")):
        tree = ast.parse((ROOT / "skelgraph" / f"{module}.py").read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        if module == "online":
            assert f"skelgraph.{other}" not in imported
    assert "skelgraph.predict" not in {n.module for n in ast.walk(ast.parse(
        (ROOT / "skelgraph" / "inference.py").read_text())) if isinstance(n, ast.ImportFrom)}


def test_fusing_a_scores_file_with_nan_is_one_line(tmp_path, capsys):
    from skelgraph.evaluate import main as evaluate_main
    from skelgraph.evaluate import save_scores

    good, bad = tmp_path / "a.npz", tmp_path / "b.npz"
    save_scores(good, ["x", "y"], [0, 1], [[0.9, 0.1], [0.2, 0.8]], ["p", "q"])
    save_scores(bad, ["x", "y"], [0, 1], [[np.nan, 0.1], [0.2, 0.8]], ["p", "q"])
    assert evaluate_main(["--fuse", str(good), str(bad)]) == 2
    assert f"{bad}: its scores are not all finite" in one_line(capsys)


def test_damaged_archives_are_one_line(tmp_path):
    good = write(tmp_path / "m.pt").read_bytes()
    cases = {"truncated": good[: len(good) // 2], "empty": b"", "garbage": b"PK\x03\x04" + b"\xff" * 200}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"a": 1}) * 50)
    deflated = bytearray(buffer.getvalue())
    deflated[60:90] = b"\x00" * 30  # corrupt deflate stream
    cases["bad_deflate"] = bytes(deflated)
    for name, data in cases.items():
        path = tmp_path / f"{name}.pt"
        path.write_bytes(data)
        with pytest.raises(CheckpointError) as err:
            load_checkpoint(path)
        assert str(path) in str(err.value) and "\n" not in str(err.value), name
