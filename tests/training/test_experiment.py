import json

import pytest
import torch
from engine_helpers import TinyModel, msr_graphs

from skelgraph.skeleton import MSR_ACTION3D
from skelgraph.training import TrainConfig
from skelgraph.training.experiment import base_parser, run_experiment, stratified_split, train_config


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


def test_parser_and_config():
    args = base_parser("demo", epochs=3, batch_size=4, lr=0.5).parse_args(["--epochs", "2", "--device", "cpu"])
    cfg = train_config(args, optimizer="adam", schedule="exponential", lr_decay=0.95)
    assert (cfg.epochs, cfg.batch_size, cfg.lr, cfg.optimizer) == (2, 4, 0.5, "adam")
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
    for name in ("curves.png", "confusion.png", "best.pt", "last.pt", "log.jsonl"):
        assert (tmp_path / name).exists(), name
