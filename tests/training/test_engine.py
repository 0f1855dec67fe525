import copy
import json
import math
import os
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pytest
import torch
from engine_helpers import TinyIterative, TinyModel, msr_graphs
from torch_geometric.data import Batch

from skelgraph.training import EpochSampler, TrainConfig, Trainer, TrainingDiverged, load_checkpoint
from skelgraph.training import checkpoint as ckpt_mod
from skelgraph.training.checkpoint import save_checkpoint

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def graphs():
    return msr_graphs()


def config(**kw):
    base = dict(epochs=4, batch_size=8, optimizer="adam", lr=0.01, seed=0, progress=False)
    base.update(kw)
    return TrainConfig(**base)


def make_trainer(graphs, out=None, model=None, **kw):
    torch.manual_seed(0)
    model = model or TinyModel(dropout=0.2)
    return Trainer(model, graphs, graphs[:12], config(**kw), out_dir=out, class_names=["a", "b", "c", "d"])


def test_loss_decreases_on_real_data(graphs, tmp_path):
    assert len(graphs) >= 30
    trainer = make_trainer(graphs, tmp_path, epochs=15)
    history = trainer.fit()
    assert history[-1]["train_loss"] < 0.6 * history[0]["train_loss"]
    lines = (tmp_path / "log.jsonl").read_text().splitlines()
    assert len(lines) == 15 and json.loads(lines[-1])["epoch"] == 15
    # best.pt only when the selected epoch is not the last (last.pt holds it otherwise)
    assert (tmp_path / "last.pt").exists()
    assert (tmp_path / "best.pt").exists() == (trainer.state.best_epoch != 15)
    meter = trainer.evaluate(graphs)
    assert meter.count == len(graphs) and meter.confusion.sum() == len(graphs)


def test_resume_equals_uninterrupted(graphs, tmp_path):
    straight = make_trainer(graphs, tmp_path / "a", epochs=4, schedule="exponential", lr_decay=0.9)
    straight.fit()
    first = make_trainer(graphs, tmp_path / "b", epochs=2, schedule="exponential", lr_decay=0.9)
    first.fit()
    resumed = make_trainer(graphs, tmp_path / "b", epochs=4, schedule="exponential", lr_decay=0.9)
    # Another model initialisation must not matter: everything comes from the checkpoint.
    torch.manual_seed(123)
    assert resumed.resume()
    resumed.fit()
    for (k, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), k
    assert [h["train_loss"] for h in straight.state.history] == [h["train_loss"] for h in resumed.state.history]


@pytest.mark.parametrize("stepwise", [False, True])
def test_cosine_schedule_follows_the_half_cosine_per_epoch_and_restarts_with_each_stepwise_step(graphs, stepwise):
    """Each epoch trains at lr (1 + cos(pi e / span)) / 2, e counted from the run's (or the stepwise step's)
    start, span = epochs (or stepwise_max_epochs): a plain reference of torch's CosineAnnealingLR."""
    torch.manual_seed(0)
    span = 3 if stepwise else 7
    cfg = config(epochs=7, schedule="cosine", lr=0.04, stepwise=stepwise, stepwise_max_epochs=3 if stepwise else None)
    model = TinyIterative() if stepwise else TinyModel()
    history = Trainer(model, graphs, None, cfg).fit()
    assert len(history) == 7
    for i, rec in enumerate(history):
        e = i % span
        assert rec["lr"] == pytest.approx(0.04 * (1 + math.cos(math.pi * e / span)) / 2, abs=1e-12), (i, rec)
    if stepwise:
        assert [h["step"] for h in history] == [0, 0, 0, 1, 1, 1, 2]


def test_resume_with_a_cosine_schedule_equals_uninterrupted(graphs, tmp_path):
    straight = make_trainer(graphs, tmp_path / "a", epochs=4, schedule="cosine")
    straight.fit()
    first = make_trainer(graphs, tmp_path / "b", epochs=4, schedule="cosine")
    first.config.epochs = 2  # stopped after two of four epochs; the schedule was built for four
    first.fit()
    resumed = make_trainer(graphs, tmp_path / "b", epochs=4, schedule="cosine")
    assert resumed.resume()
    resumed.fit()
    assert [h["lr"] for h in straight.state.history] == [h["lr"] for h in resumed.state.history]
    for (k, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), k


@pytest.mark.slow
def test_resume_after_kill_9(graphs, tmp_path):
    """A run killed with SIGKILL resumes from its last checkpoint to the same final weights."""
    script = textwrap.dedent(f"""
        import sys, time, torch
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from engine_helpers import TinyModel, msr_graphs
        from skelgraph.training import TrainConfig, Trainer
        import skelgraph.training.engine as engine
        graphs = msr_graphs()
        torch.manual_seed(0)
        cfg = TrainConfig(epochs=40, batch_size=8, optimizer="adam", lr=0.01, seed=0, progress=False,
                          checkpoint_every=0)
        t = Trainer(TinyModel(dropout=0.2), graphs, graphs[:12], cfg, out_dir=sys.argv[1],
                    class_names=list("abcd"))
        original = t.train_epoch
        def slow():
            time.sleep(0.3)
            return original()
        t.train_epoch = slow
        t.fit()
    """)
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", script, str(out)], cwd=ROOT)
    deadline = time.time() + 120
    while time.time() < deadline:
        if (out / "last.pt").exists() and load_checkpoint(out / "last.pt")["state"]["epoch"] >= 2:
            break
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    epoch = load_checkpoint(out / "last.pt")["state"]["epoch"]
    assert 2 <= epoch < 40
    resumed = make_trainer(graphs, out, epochs=epoch + 2)
    assert resumed.resume()
    resumed.fit()
    straight = make_trainer(graphs, tmp_path / "straight", epochs=epoch + 2)
    straight.fit()
    for a, b in zip(straight.model.parameters(), resumed.model.parameters()):
        assert torch.equal(a, b)


def test_atomic_checkpoint_survives_interrupted_write(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"epoch": 1, "w": torch.ones(3)})

    def broken_save(obj, f):
        f.write(b"partial garbage")
        raise KeyboardInterrupt("interrupted mid-write")

    monkeypatch.setattr(ckpt_mod.torch, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, {"epoch": 2, "w": torch.zeros(3)})
    monkeypatch.undo()
    loaded = load_checkpoint(path)
    assert loaded["epoch"] == 1 and torch.equal(loaded["w"], torch.ones(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"], "no temporary file left behind"


def test_nan_loss_stops_and_keeps_last_good_checkpoint(graphs, tmp_path):
    trainer = make_trainer(graphs, tmp_path, epochs=3)
    trainer.fit()
    good = load_checkpoint(tmp_path / "last.pt")
    trainer.config.epochs = 5
    with torch.no_grad():
        trainer.model.fc.weight.fill_(math.nan)
    with pytest.raises(TrainingDiverged, match="last good checkpoint"):
        trainer.fit()
    after = load_checkpoint(tmp_path / "last.pt")
    assert after["state"]["epoch"] == good["state"]["epoch"] == 3
    assert torch.equal(after["model"]["fc.weight"], good["model"]["fc.weight"])


def test_stepwise_trains_growing_parameter_subsets(graphs):
    torch.manual_seed(0)
    model = TinyIterative()
    trainer = Trainer(model, graphs, graphs[:12], config(epochs=30, stepwise=True, stepwise_patience=1),
                      class_names=list("abcd"))
    snapshots = {}
    steps_seen = []
    original = trainer.train_epoch

    def watched():
        step = trainer.state.step
        before = {k: v.clone() for k, v in model.state_dict().items()}
        loss = original()
        after = model.state_dict()
        trained = {k for k in before if not torch.equal(before[k], after[k])}
        snapshots.setdefault(step, set()).update(trained)
        steps_seen.append(step)
        return loss

    trainer.train_epoch = watched
    trainer.fit()
    assert steps_seen == sorted(steps_seen) and steps_seen[0] == 0
    assert set(steps_seen) == {0, 1, 2}, steps_seen
    common = {"encoder.weight", "encoder.bias", "classifier.weight", "classifier.bias"}
    assert snapshots[0] == common
    assert snapshots[1] == common | {"refine.0.weight", "refine.0.bias"}
    assert snapshots[2] == common | {f"refine.{i}.{p}" for i in (0, 1) for p in ("weight", "bias")}
    assert [h["step"] for h in trainer.state.history] == steps_seen


def test_stepwise_needs_the_interface(graphs):
    with pytest.raises(ValueError, match="stepwise"):
        Trainer(TinyModel(), graphs, graphs, config(stepwise=True))


@pytest.mark.parametrize("world", [2, 3])
def test_epoch_sampler_shards_cover_global_batches(world):
    single = list(EpochSampler(12, True, seed=5))
    shards = [list(EpochSampler(12, True, seed=5, rank=r, world=world)) for r in range(world)]
    per_rank = 2
    for k in range(12 // (world * per_rank)):
        union = sorted(i for s in shards for i in s[k * per_rank:(k + 1) * per_rank])
        assert union == sorted(single[k * world * per_rank:(k + 1) * world * per_rank])
    ev = [list(EpochSampler(10, False, rank=r, world=world, pad=False)) for r in range(world)]
    assert sorted(i for s in ev for i in s) == list(range(10))


DDP_WORKER = textwrap.dedent("""
    import os, sys, torch
    sys.path.insert(0, sys.argv[3])
    import torch.distributed as dist
    from engine_helpers import TinyModel, msr_graphs
    from skelgraph.training import TrainConfig, Trainer
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=int(sys.argv[1]), world_size=int(sys.argv[2]),
                            init_method="file://" + sys.argv[4])
    world = dist.get_world_size()
    graphs = msr_graphs()[:32]
    torch.manual_seed(0)
    cfg = TrainConfig(epochs=3, batch_size=8 // world, optimizer="sgd", lr=0.05, seed=0, progress=False)
    t = Trainer(TinyModel(dropout=0.0), graphs, graphs[:13], cfg, out_dir=sys.argv[5], class_names=list("abcd"))
    t.fit()
    meter = t.evaluate(graphs[:13])
    if dist.get_rank() == 0:
        torch.save({"params": [p.detach() for p in t.model.parameters()], "count": int(meter.count),
                    "confusion": meter.confusion, "history": t.state.history}, sys.argv[6])
    dist.barrier()  # rank 1 must not tear gloo down while rank 0 is still writing
    del t  # DDP's reducer holds the gloo group: drop it while the group is still up
    dist.destroy_process_group()
    # Interpreter teardown with gloo threads about aborted one run in 30 ("terminate called without an active
    # exception", exit -6) after everything above had finished; the test is about training, so skip teardown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
""")


def _run_world(world, tmp_path):
    init = tmp_path / f"init{world}"
    result = tmp_path / f"result{world}.pt"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    procs = [subprocess.Popen([sys.executable, "-c", DDP_WORKER, str(r), str(world), str(Path(__file__).parent),
                               str(init), str(tmp_path / f"run{world}"), str(result)], cwd=ROOT, env=env)
             for r in range(world)]
    for p in procs:
        assert p.wait(timeout=240) == 0
    return torch.load(result)


@pytest.mark.slow
def test_ddp_two_processes_equal_one_process(tmp_path):
    one = _run_world(1, tmp_path)
    two = _run_world(2, tmp_path)
    for a, b in zip(one["params"], two["params"]):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert one["count"] == two["count"] == 13, "evaluation counts every sample exactly once across ranks"
    assert torch.equal(one["confusion"], two["confusion"])
    for h1, h2 in zip(one["history"], two["history"]):
        assert h1["train_loss"] == pytest.approx(h2["train_loss"], rel=1e-5)
        assert h1["val_top1"] == h2["val_top1"]
    assert not (tmp_path / "run2" / "log.jsonl").read_text().count("\n") > 3, "only rank 0 writes the log"


def test_stepwise_steps_start_at_the_full_learning_rate_and_decay_within_a_step(graphs):
    torch.manual_seed(0)
    cfg = config(epochs=30, stepwise=True, stepwise_patience=1, schedule="exponential", lr_decay=0.5)
    trainer = Trainer(TinyIterative(), graphs, graphs[:12], cfg, class_names=list("abcd"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "lr_scheduler.step() before optimizer.step()"
        history = trainer.fit()
    for prev, rec in zip(history, history[1:]):
        expected = cfg.lr if rec["step"] != prev["step"] else prev["lr"] * 0.5
        assert rec["lr"] == pytest.approx(expected), (prev, rec)
    assert history[0]["lr"] == cfg.lr and len({h["step"] for h in history}) == 3


def test_training_on_cpu_flushes_denormals(graphs):
    torch.set_flush_denormal(False)
    try:
        Trainer(TinyModel(), graphs, None, config(epochs=1))
        assert (torch.tensor([1e-39]) * 1.0).item() == 0.0  # ST-LSTM gradients decay into this range
    finally:
        torch.set_flush_denormal(False)


class _DecreasingValLoss:
    """Wraps Trainer.evaluate so that the validation loss falls a little every epoch (a step that never
    converges by Algorithm 1's rule), keeping the real accuracy figures."""

    def __init__(self, trainer):
        self.original, self.calls = trainer.evaluate, 0

    def __call__(self, dataset, iteration=None):
        meter = self.original(dataset, iteration)
        self.calls += 1
        values = dict(meter.compute(), loss=10.0 - 0.01 * self.calls)
        return type("Meter", (), {"compute": lambda _: values})()


def test_stepwise_step_that_never_ends_is_reported_and_evaluated_where_trained(graphs, tmp_path, capsys):
    """Step 0 never converges and there is no bound per step: the run ends in step 0, says so, and its
    checkpoint classifies from IF(0) (whose parameters were trained), never from the untrained IF(2)."""
    from skelgraph.skeleton import MSR_ACTION3D
    from skelgraph.training.experiment import run_experiment

    torch.manual_seed(0)
    model = TinyIterative()
    cfg = config(epochs=5, stepwise=True, stepwise_patience=1)
    trainer = Trainer(model, graphs, graphs[:12], cfg, out_dir=tmp_path / "direct", class_names=list("abcd"))
    trainer.evaluate = _DecreasingValLoss(trainer)
    history = trainer.fit()
    assert [h["step"] for h in history] == [0] * 5
    assert trainer.stepwise_reached == 0 and not trainer.state.stepwise_done
    assert model.inference_iteration == 0
    assert "ended in step 0 of 2" in capsys.readouterr().out
    best = TinyIterative()
    kept = tmp_path / "direct" / ("best.pt" if trainer.state.best_epoch != 5 else "last.pt")  # last.pt: best is last
    best.load_state_dict(load_checkpoint(kept)["model"])
    best.inference_iteration = load_checkpoint(kept)["state"]["best_step"]
    assert best.inference_iteration == 0

    # Through run_experiment: metrics.json says how far it got, and the test figure is IF(0)'s.
    import skelgraph.training.engine as engine_mod

    original_evaluate = engine_mod.Trainer.evaluate

    out = tmp_path / "run"
    torch.manual_seed(0)
    model = TinyIterative()
    calls = {"n": 0}

    def decreasing(self, dataset, iteration=None):
        meter = original_evaluate(self, dataset, iteration)
        if dataset is val and iteration is not None:  # the per-epoch validation of fit()
            calls["n"] += 1
            values = dict(meter.compute(), loss=10.0 - 0.01 * calls["n"])
            return type("Meter", (), {"compute": lambda _: values})()
        return meter

    val, test = graphs[:12], graphs[12:]
    engine_mod.Trainer.evaluate = decreasing
    try:
        result = run_experiment(model, graphs, val, test, cfg, out, class_names=list("abcd"), layout=MSR_ACTION3D,
                                meta={})
    finally:
        engine_mod.Trainer.evaluate = original_evaluate
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["stepwise_reached"] == 0 and metrics["stepwise_completed"] is False
    checker = Trainer(model, graphs, None, config(), class_names=list("abcd"))
    at_zero = checker.evaluate(test, iteration=0).compute()
    assert result["test"]["top1"] == at_zero["top1"] == metrics["test"]["top1"]
    assert "train_seconds" not in metrics and "train_seconds" in json.loads((out / "timing.json").read_text())


def test_stepwise_bound_per_step_trains_every_step(graphs):
    """With at most 3 epochs per step, a never-converging schedule still walks through steps 0, 1 and 2."""
    torch.manual_seed(0)
    model = TinyIterative()
    cfg = config(epochs=12, stepwise=True, stepwise_patience=1, stepwise_max_epochs=3)
    trainer = Trainer(model, graphs, graphs[:12], cfg, class_names=list("abcd"))
    trainer.evaluate = _DecreasingValLoss(trainer)
    history = trainer.fit()
    assert [h["step"] for h in history] == [0, 0, 0, 1, 1, 1, 2, 2, 2]  # stops after the last step's bound
    assert trainer.state.stepwise_done and trainer.stepwise_reached == 2 and model.inference_iteration == 2
    with pytest.raises(ValueError, match="stepwise_max_epochs"):
        config(stepwise_max_epochs=0)


def test_stepwise_without_a_validation_set_gives_every_step_a_fixed_number_of_epochs(graphs):
    """No validation set: no convergence test, exactly stepwise_max_epochs epochs per step, the last epoch kept
    (and classified from the last step); without the bound there is nothing to end a step, so it is refused."""
    torch.manual_seed(0)
    model = TinyIterative()
    cfg = config(epochs=20, stepwise=True, stepwise_max_epochs=3)
    trainer = Trainer(model, graphs, None, cfg, class_names=list("abcd"))
    history = trainer.fit()
    assert [h["step"] for h in history] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert trainer.state.stepwise_done and trainer.stepwise_reached == 2 and model.inference_iteration == 2
    assert trainer.state.best_epoch == 9 and trainer.state.best_step == 2 and "val_loss" not in history[-1]
    with pytest.raises(ValueError, match="without a validation set.*stepwise_max_epochs"):
        Trainer(TinyIterative(), graphs, None, config(epochs=6, stepwise=True), class_names=list("abcd"))


def test_fit_seeds_every_generator_so_the_set_up_does_not_matter(graphs):
    """fit() seeds torch, numpy and random from config.seed: what the set-up drew before does not change the
    training draws (data order, dropout); another seed gives another run."""
    import random

    import numpy as np

    def run(seed, drawn_before):
        torch.manual_seed(0)
        model = TinyModel(dropout=0.3)  # same initial weights every time
        torch.rand(drawn_before), np.random.rand(drawn_before), random.random()
        trainer = Trainer(model, graphs, graphs[:12], config(epochs=2, seed=seed), class_names=list("abcd"))
        trainer.fit()
        return [h["train_loss"] for h in trainer.state.history], model.fc.weight.detach().clone()

    (loss_a, w_a), (loss_b, w_b), (loss_c, _) = run(0, 3), run(0, 17), run(1, 3)
    assert loss_a == loss_b and torch.equal(w_a, w_b)
    assert loss_a != loss_c


def test_rmsprop_grad_clamp_and_test_monitoring(graphs):
    """RMSprop with the authors' smoothing constant, element-wise clamping, and a monitored set that is logged
    every epoch but changes nothing: the run is the same with and without it."""
    def run(monitor):
        torch.manual_seed(0)
        model = TinyModel()
        cfg = config(epochs=3, optimizer="rmsprop", rmsprop_alpha=0.95, lr=2e-3, grad_clamp=1e-3)
        trainer = Trainer(model, graphs, graphs[:12], cfg, class_names=list("abcd"), monitor=monitor)
        assert isinstance(trainer.optimizer, torch.optim.RMSprop) and trainer.optimizer.defaults["alpha"] == 0.95
        seen = []
        original = trainer.optimizer.step

        def step(*a, **k):
            seen.append(max(p.grad.abs().max().item() for p in model.parameters() if p.grad is not None))
            return original(*a, **k)

        trainer.optimizer.step = step
        history = trainer.fit()
        assert max(seen) == pytest.approx(1e-3)  # clamped (the unclamped gradients are larger)
        return history, model.fc.weight.detach().clone()

    (plain, w1), (watched, w2) = run(None), run({"test": graphs[12:]})
    assert torch.equal(w1, w2) and [h["val_top1"] for h in plain] == [h["val_top1"] for h in watched]
    assert all("test_top1" in h and "test_loss" in h for h in watched)
    assert not any("test_top1" in h for h in plain)


def _ema_reference(snapshots, horizon, batches):
    """Plain loop over the weights after every optimiser step: the documented average."""
    avg = {k: v.clone() for k, v in snapshots[0].items()}
    for t, weights in enumerate(snapshots[1:], 1):
        decay = min(math.exp(-1.0 / (horizon * batches)), t / (t + 1))
        avg = {k: decay * avg[k] + (1 - decay) * weights[k] for k in avg}
    return avg


def test_weight_average_matches_a_plain_loop_and_is_what_is_validated_and_kept(graphs, tmp_path):
    torch.manual_seed(0)
    model = TinyModel(dropout=0.2)
    trainer = Trainer(model, graphs, graphs[:12], config(epochs=5, ema_epochs=1.5), out_dir=tmp_path,
                      class_names=list("abcd"))
    snapshots = [{k: v.detach().clone() for k, v in model.state_dict().items()}]  # the initial weights
    per_epoch = []
    original = trainer.optimizer.step

    def step(*a, **k):
        out = original(*a, **k)
        snapshots.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        return out

    trainer.optimizer.step = step
    original_end = trainer._end_of_epoch

    def end(record):
        per_epoch.append(_ema_reference(snapshots, 1.5, len(trainer.train_loader)))
        return original_end(record)

    trainer._end_of_epoch = end
    history = trainer.fit()
    raw_last = snapshots[-1]
    expected = per_epoch[-1]
    # After fit the model holds the average (not the last raw weights), equal to the plain loop.
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, expected[k], rtol=1e-5, atol=1e-6)
    assert any(not torch.allclose(raw_last[k], expected[k]) for k in expected)
    # Every epoch's validation figure is the average's of that epoch.
    probe = TinyModel(dropout=0.2)
    for record, weights in zip(history, per_epoch):
        probe.load_state_dict(weights)
        check = Trainer(probe, graphs[:1], None, config(), class_names=list("abcd"))
        assert check.evaluate(graphs[:12]).compute()["top1"] == pytest.approx(record["val_top1"])
    # best.pt holds the average of its epoch; last.pt the raw weights and the average.
    best = load_checkpoint(tmp_path / "best.pt")
    for k, v in per_epoch[best["state"]["best_epoch"] - 1].items():
        torch.testing.assert_close(best["model"][k], v, rtol=1e-5, atol=1e-6)
    last = load_checkpoint(tmp_path / "last.pt")
    assert all(torch.equal(last["model"][k], raw_last[k]) for k in raw_last)
    for k, v in expected.items():
        torch.testing.assert_close(last["ema"][k], v, rtol=1e-5, atol=1e-6)


def test_weight_average_changes_no_training_step_and_resumes_exactly(graphs, tmp_path):
    def run(out, epochs, **kw):
        trainer = make_trainer(graphs, out, epochs=epochs, **kw)
        return trainer

    plain = run(None, 4)
    plain.fit()
    averaged = run(tmp_path / "a", 4, ema_epochs=2.0)
    averaged.fit()
    assert [h["train_loss"] for h in plain.state.history] == [h["train_loss"] for h in averaged.state.history]
    first = run(tmp_path / "b", 2, ema_epochs=2.0)
    first.fit()
    resumed = run(tmp_path / "b", 4, ema_epochs=2.0)
    torch.manual_seed(5)
    assert resumed.resume()
    resumed.fit()
    for (k, a), b in zip(averaged.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), k
    assert [h["val_top1"] for h in averaged.state.history] == [h["val_top1"] for h in resumed.state.history]
    # A checkpoint of a run without the average cannot continue one with it.
    run(tmp_path / "c", 1).fit()
    with pytest.raises(ValueError, match="no weight average"):
        run(tmp_path / "c", 2, ema_epochs=2.0).resume()
    with pytest.raises(ValueError, match="ema_epochs"):
        config(ema_epochs=-1.0)


class _Jittered(torch.utils.data.Dataset):
    """Graphs with Gaussian noise drawn from torch's global generator on every access, as random frame sampling
    and person swap draw it: a monitored set that reads it must not move training's draws."""

    def __init__(self, graphs):
        self.graphs = graphs

    def __len__(self):
        return len(self.graphs)

    def __getitem__(self, i):
        g = self.graphs[i].clone()
        g.x = g.x + 0.01 * torch.randn_like(g.x)
        return g


def test_test_monitor_is_inert_weights_and_losses_are_bit_identical_with_and_without_it(graphs, tmp_path):
    """The same seeded run with and without a monitored test set (whose loading draws random numbers) writes
    bit-identical weights and training losses: the monitor evaluates with every RNG state saved and restored."""

    def run(out, monitor):
        torch.manual_seed(0)
        trainer = Trainer(TinyModel(dropout=0.3), _Jittered(graphs), None, config(epochs=3), out_dir=out,
                          class_names=list("abcd"), monitor=monitor)
        return trainer.fit()

    plain = run(tmp_path / "plain", None)
    watched = run(tmp_path / "watched", {"test": _Jittered(graphs[:10])})
    assert [h["train_loss"] for h in plain] == [h["train_loss"] for h in watched]
    assert all("test_top1" in h for h in watched)
    a = load_checkpoint(tmp_path / "plain" / "last.pt")["model"]
    b = load_checkpoint(tmp_path / "watched" / "last.pt")["model"]
    assert a.keys() == b.keys()
    for k in a:  # finite weights: equal values are equal bits
        assert a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]), k


def _count_writes(monkeypatch):
    """Names of the checkpoint files the engine writes, in order."""
    import skelgraph.training.engine as engine_mod

    written = []
    original = engine_mod.save_checkpoint

    def counting(path, state, shared_with=None):
        written.append(Path(path).name)
        return original(path, state, shared_with=shared_with)

    monkeypatch.setattr(engine_mod, "save_checkpoint", counting)
    return written


def test_last_checkpoint_is_written_on_an_interval_and_at_the_end_not_every_epoch(graphs, tmp_path, monkeypatch):
    written = _count_writes(monkeypatch)
    trainer = make_trainer(graphs, tmp_path, epochs=6)  # the default interval (10 min) never passes here
    trainer.fit()
    assert written.count("last.pt") == 1 and written.count("best.pt") <= 1
    assert load_checkpoint(tmp_path / "last.pt")["state"]["epoch"] == 6
    written.clear()
    every = make_trainer(graphs, tmp_path / "every", epochs=3, checkpoint_every=0)
    every.fit()
    assert written.count("last.pt") == 3


def test_resume_after_an_interval_write_and_more_epochs_equals_uninterrupted(graphs, tmp_path):
    """A run whose last interval write was at epoch 2, that died after epoch 3 without writing again (kill -9),
    resumes from epoch 2 and with more epochs ends bit-identical to a run never stopped."""

    def interval_at_epoch_2(trainer, record):
        trainer.config.checkpoint_every = 0.0 if record["epoch"] == 2 else 1e9

    first = make_trainer(graphs, tmp_path / "b", epochs=3)
    first.callbacks.append(interval_at_epoch_2)
    first.finish_later = True  # as in a run folder: no final write by fit; the process dies before finish()
    first.fit()
    assert load_checkpoint(tmp_path / "b" / "last.pt")["state"]["epoch"] == 2
    resumed = make_trainer(graphs, tmp_path / "b", epochs=5)
    torch.manual_seed(7)
    assert resumed.resume() and resumed.state.epoch == 2
    resumed.fit()
    straight = make_trainer(graphs, tmp_path / "a", epochs=5)
    straight.fit()
    for (k, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), k
    assert [h["train_loss"] for h in straight.state.history] == [h["train_loss"] for h in resumed.state.history]
    assert resumed.state.best_epoch == straight.state.best_epoch


def test_an_error_during_training_writes_the_last_finished_epoch(graphs, tmp_path):
    def fail_in_epoch_3(trainer, record):
        if record["epoch"] == 3:
            raise RuntimeError("boom")

    trainer = make_trainer(graphs, tmp_path, epochs=5)
    trainer.callbacks.append(fail_in_epoch_3)
    with pytest.raises(RuntimeError, match="boom"):
        trainer.fit()
    assert load_checkpoint(tmp_path / "last.pt")["state"]["epoch"] == 2


def test_a_finished_stepwise_run_resumed_with_a_larger_step_budget_goes_on_in_its_last_step(graphs, tmp_path):
    """More --epochs on a stepwise run whose recipe derives the per-step bound from them (1 -> 3): the last
    step continues up to the new bound; with the old bound nothing is left to train."""
    cfg = dict(stepwise=True, stepwise_max_epochs=1)
    torch.manual_seed(0)
    first = Trainer(TinyIterative(), graphs, None, config(epochs=3, **cfg), out_dir=tmp_path,
                    class_names=list("abcd"))
    first.fit()
    assert first.state.stepwise_done and [h["step"] for h in first.state.history] == [0, 1, 2]
    same = Trainer(TinyIterative(), graphs, None, config(epochs=9, **cfg), out_dir=tmp_path / "x",
                   class_names=list("abcd"))
    assert same.resume(tmp_path / "last.pt")
    assert same.fit() == first.state.history  # Algorithm 1 is over: nothing left to train
    more = Trainer(TinyIterative(), graphs, None, config(epochs=9, stepwise=True, stepwise_max_epochs=3),
                   out_dir=tmp_path, class_names=list("abcd"))
    assert more.resume()
    history = more.fit()
    assert [h["step"] for h in history] == [0, 1, 2, 2, 2] and more.state.stepwise_done


def test_progress_line_names_every_figure_and_marks_monitored_sets():
    from skelgraph.training.engine import duration, progress_line

    record = {"epoch": 3, "lr": 0.01, "train_loss": 1.25, "train_loss_joint": 0.5, "val_loss": 1.5,
              "val_top1": 0.5, "val_top5": 0.875, "test_top1": 0.4, "test_loss": 2.0, "step": 1, "seconds": 2.5}
    line = progress_line(record, 10, elapsed=7.5, left=3725)
    assert line == ("epoch 3/10: train loss 1.25 (joint 0.5), val loss 1.5 top-1 50.0% top-5 87.5%, test top-1 "
                    "40.0% (monitored, selects nothing), lr 0.01, step 1 [2.5 s, elapsed 0:08, about 1:02:05 left]")
    assert duration(59.4) == "0:59" and duration(61) == "1:01"


def test_epoch_lines_when_output_is_not_a_terminal_unless_quiet(graphs, capsys):
    make_trainer(graphs, epochs=2).fit()
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    assert "val loss" in lines[0] and "elapsed" in lines[0] and "left" in lines[0]
    make_trainer(graphs, epochs=2, quiet=True).fit()
    assert "epoch 1/2" not in capsys.readouterr().out


def test_adam_beta2_reaches_the_optimiser_and_matches_torch(graphs):
    """``adam_beta2`` is Adam's second-moment decay: the engine's steps equal torch's Adam with those betas."""
    torch.manual_seed(0)
    model = TinyModel()
    reference = copy.deepcopy(model)
    trainer = Trainer(model, graphs, None, config(epochs=1, optimizer="adam", lr=1e-2, adam_beta2=0.99),
                      class_names=list("abcd"))
    assert trainer.optimizer.defaults["betas"] == (0.9, 0.99)
    opt = torch.optim.Adam(reference.parameters(), lr=1e-2, betas=(0.9, 0.99))
    batch = Batch.from_data_list(graphs[:8])
    for _ in range(3):
        for net, o in ((model, trainer.optimizer), (reference, opt)):
            o.zero_grad()
            net.training_loss(batch).backward()
            o.step()
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), reference.parameters()))
