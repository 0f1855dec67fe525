import json

import pytest
import torch
from engine_helpers import TinyModel, msr_graphs

from skelgraph.skeleton import MSR_ACTION3D
from skelgraph.training import TrainConfig
from skelgraph.training.experiment import run_experiment, stratified_split


def test_stratified_split_keeps_every_class():
    labels = [0] * 10 + [1] * 4 + [2] * 1 + [3] * 2
    train, val = stratified_split(labels, 0.25, seed=1)
    assert sorted(train + val) == list(range(len(labels)))
    assert not set(train) & set(val)
    val_labels = [labels[i] for i in val]
    assert val_labels.count(0) == 2 or val_labels.count(0) == 3
    assert val_labels.count(1) == 1 and val_labels.count(2) == 0 and val_labels.count(3) == 1
    assert stratified_split(labels, 0.25, seed=1) == (train, val), "deterministic for a seed"
    assert stratified_split(labels, 0.0) == (list(range(len(labels))), []), "no validation at fraction 0"


def test_train_config_of_typed_parts():
    from skelgraph.recipes import Optimisation, RunOptions, train_config

    optim = Optimisation(epochs=2, batch_size=4, lr=0.5, optimizer="adam", schedule="exponential", lr_decay=0.95)
    cfg = train_config(optim, RunOptions(device="cpu"))
    assert (cfg.epochs, cfg.batch_size, cfg.lr, cfg.optimizer, cfg.schedule) == (2, 4, 0.5, "adam", "exponential")
    assert train_config(Optimisation(cosine=True), RunOptions()).schedule == "cosine"
    with pytest.raises(ValueError):
        TrainConfig(optimizer="lbfgs")


def test_run_experiment_writes_metrics_and_plots(tmp_path):
    pytest.importorskip("matplotlib")
    graphs = msr_graphs()
    torch.manual_seed(0)
    cfg = TrainConfig(epochs=3, batch_size=8, optimizer="adam", lr=0.01, progress=False)
    result = run_experiment(TinyModel(), graphs[:30], graphs[30:36], graphs[30:], cfg, tmp_path,
                            class_names=list("abcd"), layout=MSR_ACTION3D, meta={"model": "tiny"},
                            after_training=lambda trainer: {"extra": 1})
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["test"]["samples"] == len(graphs) - 30 == result["test"]["samples"]
    assert saved["extra"] == 1 and saved["epochs"] == 3
    assert sum(map(sum, saved["test_confusion"])) == len(graphs) - 30
    for name in ("curves.png", "confusion.png", "model.pt", "last.pt", "log.jsonl"):
        assert (tmp_path / name).exists(), name


@pytest.mark.slow
def test_arrn_run_logs_comparable_losses_and_draws_its_mask(tmp_path):
    pytest.importorskip("matplotlib")
    from skelgraph.nn import ARRNLSTM
    from skelgraph.training.experiment import describe_dataset

    graphs = msr_graphs()  # real MSR Action3D sequences, 4 classes
    torch.manual_seed(0)
    model = ARRNLSTM.from_paper("msr", num_classes=4, T=12, M=6, E=1, att_channels=8, lstm_sizes=(8,))
    cfg = TrainConfig(epochs=2, batch_size=8, optimizer="adam", lr=0.01, progress=False)
    meta = {"model": "arrn", "dataset": {"name": "msr_action3d", "subset": "AS1"}}
    result = run_experiment(model, graphs[:30], graphs[30:36], graphs[30:], cfg, tmp_path,
                            class_names=list("abcd"), layout=MSR_ACTION3D, meta=meta)
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    for record in log:
        for split in ("train", "val"):
            assert {f"{split}_loss_{t}" for t in ("joint", "line", "fused")} <= set(record)
        # The objective is the sum of the stream losses; the validation loss is the fused prediction's.
        assert record["train_loss"] == pytest.approx(record["train_loss_joint"] + record["train_loss_line"])
        assert record["val_loss"] == pytest.approx(record["val_loss_fused"], rel=1e-5)
    assert result["test"]["loss"] == pytest.approx(result["test"]["loss_fused"], rel=1e-5)
    for name in ("curves.png", "confusion.png", "attention.png", "attention.gif"):
        assert (tmp_path / name).exists(), name
    assert describe_dataset(meta) == "msr_action3d, subset AS1"
    assert describe_dataset({"dataset": {"name": "ntu60", "benchmark": "xsub", "full": False}}) == (
        "ntu60, benchmark xsub, bundled samples only")
