"""Run folders: locked while in use, never mixed, resumed only with the stored configuration (or --override),
checked before the first batch, stopped cleanly by SIGINT / SIGTERM. Training data: bundled real MSR Action3D."""

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from engine_helpers import TinyModel, msr_graphs

import skelgraph.training.checkpoint as ckpt_mod
from skelgraph.skeleton import MSR_ACTION3D
from skelgraph.training import TrainConfig
from skelgraph.training.checkpoint import load_checkpoint, save_checkpoint
from skelgraph.training.experiment import run_experiment
from skelgraph.training.runs import LOCK_FILE, RunError, RunFolder, cli_main

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def graphs():
    return msr_graphs()


def run(graphs, out, resume=False, override=False, **kw):
    torch.manual_seed(0)
    cfg = TrainConfig(**dict(dict(epochs=2, batch_size=8, optimizer="adam", lr=0.01, progress=False), **kw))
    return run_experiment(TinyModel(), graphs[:24], graphs[24:30], graphs[30:], cfg, out, class_names=list("abcd"),
                          layout=MSR_ACTION3D, meta={"model": "tiny"}, resume=resume, override=override)


def test_a_used_folder_is_refused_without_resume(graphs, tmp_path):
    run(graphs, tmp_path)
    log = (tmp_path / "log.jsonl").read_text()
    weights = load_checkpoint(tmp_path / "last.pt")["model"]
    with pytest.raises(RunError, match="already holds a run.*--resume"):
        run(graphs, tmp_path, lr=0.5)
    assert (tmp_path / "log.jsonl").read_text() == log, "nothing appended"
    after = load_checkpoint(tmp_path / "last.pt")["model"]
    assert all(torch.equal(a, b) for a, b in zip(weights.values(), after.values()))
    assert not (tmp_path / LOCK_FILE).exists(), "the lock goes with the run"
    best = load_checkpoint(tmp_path / "best.pt")
    assert "optimizer" not in best and "rng" not in best and "optimizer" in load_checkpoint(tmp_path / "last.pt")
    assert (tmp_path / "model.pt").exists()


HOLDER = textwrap.dedent("""
    import sys
    from skelgraph.training import TrainConfig
    from skelgraph.training.runs import RunFolder
    with RunFolder(sys.argv[1], TrainConfig(), {}):
        print("locked", flush=True)
        sys.stdin.readline()
""")


@pytest.mark.slow
def test_a_folder_in_use_is_refused_and_freed_by_the_holder_s_death(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunError, match=f"in use by process {holder.pid}"):
            with RunFolder(tmp_path, TrainConfig(), {}):
                pass
    finally:
        holder.kill()  # SIGKILL: no clean-up code runs, the lock file stays behind
        holder.wait()
    assert (tmp_path / LOCK_FILE).exists()
    with RunFolder(tmp_path, TrainConfig(), {}):
        assert (tmp_path / LOCK_FILE).read_text().startswith(f"{os.getpid()} ")


def test_two_runs_at_once_one_is_refused(graphs, tmp_path):
    with RunFolder(tmp_path, TrainConfig(), {}):  # another run, in this process, holds the folder
        with pytest.raises(RunError, match="in use"):
            run(graphs, tmp_path)
    assert not (tmp_path / "log.jsonl").exists()


def test_resume_refuses_a_changed_configuration_unless_overridden(graphs, tmp_path):
    run(graphs, tmp_path, epochs=2)
    with pytest.raises(RunError, match=r"lr: 0.01 -> 0.05.*--override"):
        run(graphs, tmp_path, resume=True, epochs=3, lr=0.05)
    with pytest.raises(RunError, match="seed"):
        run(graphs, tmp_path, resume=True, epochs=3, seed=7)
    with pytest.raises(RunError, match="optimizer"):
        run(graphs, tmp_path, resume=True, epochs=3, optimizer="sgd", override=True)
    assert json.loads((tmp_path / "log.jsonl").read_text().splitlines()[-1])["epoch"] == 2
    # More epochs is not a change of what is trained.
    result = run(graphs, tmp_path, resume=True, epochs=3)
    assert result["epochs"] == 3
    # With --override the new learning rate is what the optimiser actually uses from the resumed epoch on.
    result = run(graphs, tmp_path, resume=True, epochs=4, lr=0.05, override=True)
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2, 3, 4]
    assert [r["lr"] for r in log] == [0.01, 0.01, 0.01, 0.05]
    segments = json.loads((tmp_path / "run.json").read_text())["segments"]
    assert [s["from_epoch"] for s in segments] == [0, 2, 3]
    assert [s["config"]["lr"] for s in segments] == [0.01, 0.01, 0.05]
    assert segments[-1]["overridden"] == {"config.lr": [0.01, 0.05]}
    assert result["run"][-1] == {"from_epoch": 3, "overridden": {"config.lr": [0.01, 0.05]}}
    assert json.loads((tmp_path / "metrics.json").read_text())["run"] == result["run"]


def test_a_resumed_cosine_schedule_follows_the_new_epochs_and_an_overridden_rate(graphs, tmp_path):
    """A cosine run resumed with more epochs anneals over the new span from the epoch reached (it must not reach 0
    at the old end and climb back), and an overridden rate applies at the cosine's current phase."""

    def cosine(lr, e, span):
        return lr * (1 + math.cos(math.pi * e / span)) / 2

    def lrs():
        return [json.loads(line)["lr"] for line in (tmp_path / "log.jsonl").read_text().splitlines()]

    run(graphs, tmp_path, epochs=2, schedule="cosine", lr=0.04)
    run(graphs, tmp_path, resume=True, epochs=6, schedule="cosine", lr=0.04)
    expected = [cosine(0.04, e, 2) for e in range(2)] + [cosine(0.04, e, 6) for e in range(2, 6)]
    assert lrs() == pytest.approx(expected, abs=1e-12)
    assert all(a > b for a, b in zip(lrs()[2:], lrs()[3:])), "from the resumed epoch on the rate only falls"
    run(graphs, tmp_path, resume=True, epochs=8, schedule="cosine", lr=0.08, override=True)
    assert lrs()[6:] == pytest.approx([cosine(0.08, e, 8) for e in (6, 7)], abs=1e-12)


@pytest.mark.slow
def test_an_overridden_rate_keeps_the_exponential_decay_reached(graphs, tmp_path):
    """Under an exponential schedule a new rate takes the old one's place at the decay's phase (it does not start
    the decay over at the new rate), and a new decay goes on from the rate reached."""

    def lrs():
        return [json.loads(line)["lr"] for line in (tmp_path / "log.jsonl").read_text().splitlines()]

    run(graphs, tmp_path, epochs=2, schedule="exponential", lr=0.04, lr_decay=0.5)
    assert lrs() == pytest.approx([0.04, 0.02], abs=1e-12)
    run(graphs, tmp_path, resume=True, epochs=4, schedule="exponential", lr=0.12, lr_decay=0.5, override=True)
    assert lrs()[2:] == pytest.approx([0.12 * 0.5**2, 0.12 * 0.5**3], abs=1e-12)
    run(graphs, tmp_path, resume=True, epochs=6, schedule="exponential", lr=0.12, lr_decay=0.1, override=True)
    assert lrs()[4:] == pytest.approx([0.12 * 0.5**4, 0.12 * 0.5**4 * 0.1], abs=1e-12)
    run(graphs, tmp_path, resume=True, epochs=7, schedule="exponential", lr=0.12, lr_decay=0.1)
    assert lrs()[6:] == pytest.approx([0.12 * 0.5**4 * 0.1**2], abs=1e-12), "a plain resume goes on as it was"


def test_a_cosine_run_resumed_with_its_own_settings_is_untouched(graphs, tmp_path):
    from skelgraph.training import Trainer

    run(graphs, tmp_path, epochs=2, schedule="cosine", lr=0.04)
    trainer = Trainer(TinyModel(), graphs[:24], graphs[24:30],
                      TrainConfig(epochs=2, batch_size=8, optimizer="adam", lr=0.04, schedule="cosine",
                                  progress=False), out_dir=tmp_path)
    assert trainer.resume()
    assert trainer.align_cosine() is False
    assert trainer.scheduler.T_max == 2


def test_stale_temporaries_removed_and_log_trimmed_to_the_checkpoint(graphs, tmp_path):
    run(graphs, tmp_path, epochs=2)
    stale = tmp_path / ".last.pt.abc123.tmp"
    stale.write_bytes(b"x" * 1000)
    with open(tmp_path / "log.jsonl", "a") as f:  # a crash after logging epoch 3 but before last.pt
        f.write(json.dumps({"epoch": 3, "train_loss": 1.0}) + '\n{"epoch": 4, "tra')
    run(graphs, tmp_path, resume=True, epochs=3)
    assert not stale.exists()
    assert [json.loads(line)["epoch"] for line in (tmp_path / "log.jsonl").read_text().splitlines()] == [1, 2, 3]


def test_unwritable_folder_is_refused_before_training(graphs, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(RunError, match="cannot create the run folder"):
        run(graphs, blocker / "run")
    out = tmp_path / "ro"
    out.mkdir()
    if os.geteuid() != 0:
        out.chmod(0o500)
    else:  # root writes anywhere: make the folder read-only the way a read-only mount answers
        import skelgraph.training.runs as runs_mod

        def read_only(*args, **kwargs):
            raise OSError(30, "Read-only file system")

        monkeypatch.setattr(runs_mod.tempfile, "mkstemp", read_only)
    with pytest.raises(RunError, match="not writable"):
        run(graphs, out)
    assert not any(out.iterdir())


def test_no_room_for_checkpoints_is_refused(graphs, tmp_path, monkeypatch):
    import shutil

    import skelgraph.training.runs as runs_mod

    monkeypatch.setattr(runs_mod.shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**9, 10**9, 100))
    with pytest.raises(RunError, match="MiB free"):
        run(graphs, tmp_path)


def test_missing_device_and_tensorboard_fail_before_the_first_batch(graphs, tmp_path, monkeypatch):
    if not torch.cuda.is_available():
        with pytest.raises(RunError, match="--device cuda"):
            run(graphs, tmp_path / "cuda", device="cuda")
    with pytest.raises(RunError, match="not a device name"):
        run(graphs, tmp_path / "bad", device="gpu0")
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # makes the import fail
    with pytest.raises(RunError, match="tensorboard"):
        run(graphs, tmp_path / "tb", tensorboard=True)
    assert not (tmp_path / "tb" / "log.jsonl").exists(), "refused before any epoch"


@pytest.mark.slow
def test_recipe_entry_turns_run_errors_into_one_line(tmp_path, capsys):
    from skelgraph.recipes.arrn_msr import main as arrn_msr_main

    data = tmp_path / "msr_action3d"
    data.mkdir()
    (data / "raw").symlink_to(ROOT / "datasets" / "msr_action3d" / "raw")
    args = ["--data-root", str(data), "--out", str(tmp_path / "run"), "--tiny", "--subset", "AS1", "--epochs", "1",
            "--T", "6", "--M", "4", "--E", "1", "--no-progress"]
    assert cli_main(arrn_msr_main, args) == 0
    capsys.readouterr()
    assert cli_main(arrn_msr_main, args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already holds a run" in err[0]
    assert cli_main(arrn_msr_main, args + ["--resume", "--lr", "0.5"]) == 2
    assert "--override" in capsys.readouterr().err
    missing = ["--data-root", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run2"), "--subset", "AS1"]
    assert cli_main(arrn_msr_main, missing) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


@pytest.fixture
def torchrun_env(monkeypatch):
    """The variables torchrun sets for a one-process job (gloo on this CPU, a free local port)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for key, value in dict(RANK="0", LOCAL_RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1",
                           MASTER_PORT=str(port)).items():
        monkeypatch.setenv(key, value)
    yield
    if torch.distributed.is_initialized():  # a failing test must not leave the group to the next one
        torch.distributed.destroy_process_group()


@pytest.mark.parametrize("outcome", ["returns", "user error", "interrupted"])
def test_cli_main_destroys_the_process_group_the_run_created(torchrun_env, outcome):
    from skelgraph.training import init_distributed

    seen = {}

    def main(argv):
        seen["rank_world"] = init_distributed()
        seen["joined"] = torch.distributed.is_initialized()
        work = torch.ones(3)
        torch.distributed.all_reduce(work)  # the group works while the run holds it
        seen["sum"] = work.tolist()
        if outcome == "user error":
            raise ValueError("bad input")
        if outcome == "interrupted":
            raise KeyboardInterrupt

    code = cli_main(main, [])
    assert seen == {"rank_world": (0, 1), "joined": True, "sum": [1.0, 1.0, 1.0]}
    assert code == {"returns": 0, "user error": 2, "interrupted": 128 + signal.SIGINT}[outcome]
    assert not torch.distributed.is_initialized(), "the group init_distributed created is destroyed on the way out"


def test_cli_main_leaves_a_process_group_the_caller_created(torchrun_env):
    from skelgraph.training import init_distributed, shutdown_distributed

    torch.distributed.init_process_group("gloo")
    try:
        assert cli_main(lambda argv: init_distributed() and 0, []) == 0
        assert torch.distributed.is_initialized(), "not ours to destroy"
        assert shutdown_distributed() is False
    finally:
        torch.distributed.destroy_process_group()


def test_signal_during_a_checkpoint_write_lets_the_write_finish(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"epoch": 1})
    real_save = torch.save

    def save_and_get_interrupted(obj, f):
        # Ctrl-C arrives in the middle of the write, raised in the main thread itself (os.kill may hand it to any
        # of torch's threads)
        signal.raise_signal(signal.SIGINT)
        time.sleep(0.05)
        real_save(obj, f)

    monkeypatch.setattr(ckpt_mod.torch, "save", save_and_get_interrupted)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's own, whatever was installed
    try:
        with pytest.raises(KeyboardInterrupt):
            save_checkpoint(path, {"epoch": 2, "w": torch.ones(100)})
    finally:
        signal.signal(signal.SIGINT, previous)
    assert load_checkpoint(path)["epoch"] == 2, "the write was finished before the interrupt was raised"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]


TRAINING = textwrap.dedent("""
    import sys, time, torch
    sys.path.insert(0, sys.argv[2])
    from engine_helpers import TinyModel, msr_graphs
    from skelgraph.skeleton import MSR_ACTION3D
    from skelgraph.training import TrainConfig, Trainer
    from skelgraph.training.experiment import run_experiment
    from skelgraph.training.runs import cli_main
    original = Trainer.train_epoch
    def slow(self):
        time.sleep(0.3)
        return original(self)
    Trainer.train_epoch = slow
    graphs = msr_graphs()
    def main(argv):
        torch.manual_seed(0)
        cfg = TrainConfig(epochs=int(sys.argv[3]), batch_size=8, optimizer="adam", lr=0.01, progress=False)
        run_experiment(TinyModel(), graphs[:24], graphs[24:30], graphs[30:], cfg, sys.argv[1],
                       class_names=list("abcd"), layout=MSR_ACTION3D, meta={}, resume=len(sys.argv) > 4)
    sys.exit(cli_main(main))
""")


def _start(out, epochs, resume=False):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore", MPLBACKEND="Agg")
    return subprocess.Popen([sys.executable, "-c", TRAINING, str(out), str(HERE), str(epochs)]
                            + (["resume"] if resume else []), cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _logged(out):
    try:
        return len((out / "log.jsonl").read_text().splitlines())
    except FileNotFoundError:
        return 0


def _wait_for_epochs(out, n, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline and _logged(out) < n:
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signals_stop_the_run_with_one_line_and_resume_continues(tmp_path, signum):
    """last.pt is written on a 10-minute interval, so a signal is what writes it here: the last finished epoch."""
    out = tmp_path / "run"
    proc = _start(out, 200)
    _wait_for_epochs(out, 2)
    assert not (out / "last.pt").exists(), "no checkpoint every epoch: the interval has not passed"
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"interrupted by {signal.Signals(signum).name} after epoch")
    epoch = load_checkpoint(out / "last.pt")["state"]["epoch"]
    assert epoch >= 2 and f"after epoch {epoch}" in lines[0]
    assert not list(out.glob(".*.tmp")) and not (out / LOCK_FILE).exists()
    segments = json.loads((out / "run.json").read_text())["segments"]
    assert segments[-1]["ended"] == f"interrupted by {signal.Signals(signum).name} after epoch {epoch}"
    # --resume picks it up (and is refused without it).
    resumed = _start(out, 200, resume=True)
    _wait_for_epochs(out, epoch + 2)
    resumed.send_signal(signal.SIGINT)
    _, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 130 and load_checkpoint(out / "last.pt")["state"]["epoch"] > epoch, err


@pytest.mark.slow
def test_a_resumed_run_stopped_by_sigterm_says_its_model_is_an_earlier_segment_s(tmp_path, capsys):
    """Issue 36 item 9: model.pt and metrics.json of the first segment are marked as such when the resumed
    segment is interrupted, and evaluate / predict print that mark; a finished segment clears it."""
    from skelgraph.training.runs import run_status

    out = tmp_path / "run"
    first = _start(out, 2)
    assert first.wait(timeout=120) == 0, first.communicate()[1]
    assert run_status(out / "model.pt") is None
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 2
    resumed = _start(out, 200, resume=True)
    _wait_for_epochs(out, 4)
    # While it runs, the folder already says that model.pt is the first segment's.
    assert "resumed after epoch 2" in json.loads((out / "metrics.json").read_text())["status"]
    resumed.send_signal(signal.SIGTERM)
    _, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 128 + signal.SIGTERM, err
    epoch = load_checkpoint(out / "last.pt")["state"]["epoch"]
    status = json.loads((out / "metrics.json").read_text())["status"]
    assert status.startswith(f"interrupted by SIGTERM after epoch {epoch}; model.pt and metrics.json hold epoch 2")
    assert run_status(out / "model.pt") == f"note: {out}: {status}"
    from skelgraph.predict import main as predict_main

    sample = ROOT / "datasets" / "msr_action3d" / "raw" / "MSRAction3DSkeletonReal3D" / "a01_s01_e01_skeleton3D.txt"
    predict_main(["--checkpoint", str(out / "model.pt"), str(sample)])  # (a tiny test model: then refused)
    assert capsys.readouterr().err.strip().splitlines()[0] == run_status(out / "model.pt")
    # Finishing the run brings model.pt and metrics.json to its last epoch, and the mark goes.
    final = _start(out, epoch + 1, resume=True)
    assert final.wait(timeout=120) == 0, final.communicate()[1]
    metrics = json.loads((out / "metrics.json").read_text())
    assert "status" not in metrics and metrics["epochs"] == epoch + 1 and run_status(out / "model.pt") is None


def test_a_finished_run_keeps_lean_files_and_last_pt_shares_model_pt_s_tensors(graphs, tmp_path):
    """last.pt stores only what model.pt does not hold bit for bit (here: the optimiser state and the raw weights
    where they differ), loads whole through load_checkpoint, and a changed or missing model.pt is refused."""
    from skelgraph.training.checkpoint import CheckpointError

    run(graphs, tmp_path / "a", epochs=3)
    a = tmp_path / "a"
    raw = torch.load(a / "last.pt", weights_only=True)
    last = load_checkpoint(a / "last.pt")
    model = load_checkpoint(a / "model.pt")["model"]
    best_is_last = last["state"]["best_epoch"] == last["state"]["epoch"]
    assert (a / "best.pt").exists() != best_is_last
    if best_is_last:  # model.pt is the last epoch: last.pt keeps none of its weights itself
        assert raw["model"] == {} and raw["shared"]["file"] == "model.pt"
        assert all(torch.equal(last["model"][k], v) for k, v in model.items())
        assert (a / "last.pt").stat().st_size < 0.5 * (a / "model.pt").stat().st_size + 2 * 2**20
    torch.save(dict(load_checkpoint(a / "model.pt"), model={k: v + 1 for k, v in model.items()}), a / "model.pt")
    if "shared" in raw:
        with pytest.raises(CheckpointError, match="has changed"):
            load_checkpoint(a / "last.pt")
        (a / "model.pt").unlink()
        with pytest.raises(CheckpointError, match="missing"):
            load_checkpoint(a / "last.pt")


def test_resume_with_more_epochs_after_a_finished_run_equals_the_longer_run(graphs, tmp_path):
    run(graphs, tmp_path / "straight", epochs=4)
    run(graphs, tmp_path / "parts", epochs=2)
    run(graphs, tmp_path / "parts", epochs=4, resume=True)
    a = load_checkpoint(tmp_path / "straight" / "last.pt")
    b = load_checkpoint(tmp_path / "parts" / "last.pt")
    assert a["state"]["history"] and [h["train_loss"] for h in a["state"]["history"]] == \
        [h["train_loss"] for h in b["state"]["history"]]
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k
    for name in ("model.pt",):
        x, y = load_checkpoint(tmp_path / "straight" / name), load_checkpoint(tmp_path / "parts" / name)
        assert all(torch.equal(v, y["model"][k]) for k, v in x["model"].items())
    metrics = json.loads((tmp_path / "parts" / "metrics.json").read_text())
    assert metrics["epochs"] == 4 and "status" not in metrics


@pytest.mark.parametrize("keep", ["model", "none"])
def test_keep_leaves_only_what_it_names_and_such_a_run_is_not_resumed(graphs, tmp_path, keep):
    run(graphs, tmp_path, keep=keep)
    weights = sorted(p.name for p in tmp_path.glob("*.pt"))
    assert weights == (["model.pt"] if keep == "model" else [])
    assert (tmp_path / "metrics.json").exists()
    with pytest.raises(RunError, match="nothing to resume"):
        run(graphs, tmp_path, keep=keep, resume=True, epochs=4)


def test_checkpoint_bytes_of_a_short_run_one_write_per_file(graphs, tmp_path, monkeypatch):
    """A short run writes model.pt once and last.pt once (lean: sharing model.pt's tensors), best.pt at most
    once: no per-epoch rewrites."""
    import skelgraph.training.engine as engine_mod

    names = []
    original = ckpt_mod.save_checkpoint

    def counting(path, state, shared_with=None):
        names.append(Path(path).name)
        return original(path, state, shared_with=shared_with)

    monkeypatch.setattr(ckpt_mod, "save_checkpoint", counting)
    monkeypatch.setattr(engine_mod, "save_checkpoint", counting)
    run(graphs, tmp_path, epochs=5)
    assert names.count("last.pt") == 1 and names.count("model.pt") == 1 and names.count("best.pt") <= 1


def test_a_shared_entry_names_only_a_file_next_to_it(tmp_path):
    """A crafted last.pt cannot make load_checkpoint read a file elsewhere, or chain shared files."""
    from skelgraph.training.checkpoint import CheckpointError

    weights = {"w": torch.ones(3)}
    save_checkpoint(tmp_path / "model.pt", {"model": weights})
    save_checkpoint(tmp_path / "last.pt", {"model": dict(weights), "state": {}}, shared_with=tmp_path / "model.pt")
    assert torch.equal(load_checkpoint(tmp_path / "last.pt")["model"]["w"], torch.ones(3))
    for name in ("../model.pt", "/etc/passwd", "", ".."):
        torch.save({"model": {}, "shared": {"file": name, "keys": {"model": ["w"]}, "sha256": "0"}},
                   tmp_path / "bad.pt")
        with pytest.raises(CheckpointError, match="damaged 'shared' entry"):
            load_checkpoint(tmp_path / "bad.pt")
    torch.save({"model": {}, "shared": {"file": "last.pt", "keys": {"model": ["w"]}, "sha256": "0"}},
               tmp_path / "chain.pt")
    with pytest.raises(CheckpointError, match="has changed"):
        load_checkpoint(tmp_path / "chain.pt")


def test_a_run_that_diverges_ends_with_one_line_and_exit_1(capsys):
    """Weights or a loss that become non-finite stop the run (TrainingDiverged); the command prints one line, not a
    traceback, and exits 1 (not 2: the options were valid)."""
    from skelgraph.training.engine import TrainingDiverged

    def diverging(argv):
        raise TrainingDiverged("loss is nan at epoch 3; stopping. The last good checkpoint (runs/x/last.pt) is kept.")

    assert cli_main(diverging, []) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["error: training diverged: loss is nan at epoch 3; stopping. The last good "
                                        "checkpoint (runs/x/last.pt) is kept."]
