"""What every recipe shares: the command line, validation splits, and a run that trains, evaluates and plots.

Recipes in ``recipes/`` only pick a dataset, a model and the paper's optimiser; everything else is here,
where the tests reach it.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from skelgraph.skeleton import Layout
from skelgraph.training.checkpoint import export_model
from skelgraph.training.engine import TrainConfig, Trainer, init_distributed
from skelgraph.training.metrics import ClassificationMeter
from skelgraph.training.runs import OneLineParser, RunFolder, checkpoint_bytes


def base_parser(description: str, *, epochs: int, batch_size: int, lr: float) -> argparse.ArgumentParser:
    """The options every recipe has; paper values are the defaults a recipe passes in."""
    p = OneLineParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data-root", default=None,
                   help="dataset folder (default: the repository's datasets/<name>, or $SKELGRAPH_DATA/<name>)")
    p.add_argument("--out", default=None, help="run folder: log, checkpoints, plots, metrics.json; a folder that "
                   "already holds a run is refused unless --resume is given")
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--batch-size", type=int, default=batch_size, help="per process (per GPU under torchrun)")
    p.add_argument("--lr", type=float, default=lr)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint "
                   "(refused if the options differ from the stored ones, see --override)")
    p.add_argument("--override", action="store_true", help="with --resume: continue with the new options "
                   "(recorded in run.json) instead of refusing a changed configuration")
    p.add_argument("--optimizer", choices=["sgd", "adam"], default=None,
                   help="override the paper's optimiser (its learning-rate schedule is kept)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=0, help="data loader worker processes")
    p.add_argument("--amp", action="store_true", help="mixed precision (bfloat16 autocast) on CUDA")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument("--grad-clip", type=float, default=None, help="clip the gradient norm to this value")
    p.add_argument("--tensorboard", action="store_true", help="also log to TensorBoard (needs tensorboard)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def train_config(args: argparse.Namespace, **paper: Any) -> TrainConfig:
    """A :class:`TrainConfig` from the common options plus the recipe's paper settings."""
    if getattr(args, "optimizer", None):
        paper["optimizer"] = args.optimizer
    return TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, device=args.device,
                       seed=args.seed, num_workers=args.workers, amp=args.amp, compile=args.compile,
                       grad_clip=args.grad_clip, tensorboard=args.tensorboard, progress=not args.no_progress,
                       **paper)


def stratified_split(labels: Sequence[int], fraction: float, seed: int = 0) -> tuple[list[int], list[int]]:
    """Split indices into (train, validation) keeping about ``fraction`` of every class for validation
    (at least one sample of a class with two or more). Validation never comes from a test split."""
    g = torch.Generator().manual_seed(seed)
    labels_t = torch.as_tensor(list(labels))
    train: list[int] = []
    val: list[int] = []
    for c in labels_t.unique().tolist():
        idx = (labels_t == c).nonzero().view(-1)
        idx = idx[torch.randperm(idx.numel(), generator=g)].tolist()
        k = min(len(idx) - 1, max(1, round(fraction * len(idx)))) if len(idx) > 1 else 0
        val += idx[:k]
        train += idx[k:]
    return sorted(train), sorted(val)


def subset(dataset: Dataset, indices: Sequence[int], transform: Callable | None = None) -> Dataset:
    """A view of a PyG dataset on ``indices``, optionally with another transform (e.g. the evaluation one)."""
    out = dataset.index_select(list(indices))
    if transform is not None:
        out = copy.copy(out)
        out.transform = transform
    return out


def dataset_labels(dataset: Dataset) -> list[int]:
    """Labels of a dataset without applying its transform (read from the collated store of a PyG
    in-memory dataset when there is one)."""
    store = getattr(dataset, "_data", None)
    indices = dataset.indices() if hasattr(dataset, "indices") else range(len(dataset))
    y = getattr(store, "y", None) if store is not None else None
    if isinstance(y, torch.Tensor) and y.dim() == 1 and len(indices) and max(indices) < y.numel():
        return y[torch.as_tensor(list(indices))].tolist()
    if hasattr(dataset, "get"):
        return [int(dataset.get(i).y) for i in indices]
    return [int(d.y) for d in dataset]


def coordinate_scale(dataset: Dataset, layout: Layout, max_samples: int = 2000) -> float:
    """``1 / std`` of the centred joint coordinates of a (training) dataset, over the frames where a body is
    present; at most ``max_samples`` evenly spaced samples are read. Multiplying by it gives unit-scale inputs."""
    from skelgraph.transforms import CenterJoints

    center = CenterJoints(layout)
    indices = list(dataset.indices()) if hasattr(dataset, "indices") else list(range(len(dataset)))
    step = max(1, len(indices) // max_samples)
    total, total_sq, count = 0.0, 0.0, 0
    for i in indices[::step]:
        data = dataset.get(i) if hasattr(dataset, "get") else dataset[i]
        x = center(copy.copy(data)).x
        present = (x != 0).any(dim=-1)
        values = x[present].double()
        total += float(values.sum())
        total_sq += float((values**2).sum())
        count += values.numel()
    if count == 0:
        return 1.0
    var = total_sq / count - (total / count) ** 2
    return 1.0 / var**0.5 if var > 0 else 1.0


def plot_attention(model: nn.Module, sample: Any, layout: Layout, path: Path) -> Path | None:
    """Draw the model's joint weights on the sample's skeleton: ARRN mask weights per stream, or GCA-LSTM
    informativeness per attention iteration (averaged over frames). Returns None for other models."""
    from skelgraph.training.plots import plot_joint_weights

    joints = sample.x.view(-1, layout.num_joints, sample.x.size(1), 3)[0]  # first body [J, T, 3]
    present = joints.abs().sum((0, 2)).nonzero().view(-1)
    frame = int(present[0]) if present.numel() else 0  # first frame that holds the body
    model.eval()
    if hasattr(model, "mask_weights"):
        weights = {k: v.detach().cpu() for k, v in model.mask_weights().items()}
        return plot_joint_weights(layout, joints[:, frame].cpu(), torch.stack(list(weights.values())), path,
                                  titles=[f"{k} mask" for k in weights], suptitle="ARRN-LSTM node mask (Eq. 9)")
    if hasattr(model, "joint_attention"):
        from torch_geometric.data import Batch

        batch = Batch.from_data_list([sample]).to(next(model.parameters()).device)
        with torch.no_grad():
            att = model.joint_attention(batch)
        if isinstance(att, dict):  # two-stream: one entry per stream
            panels, titles = [], []
            for stream, per_iter in att.items():
                for n, a in enumerate(per_iter, 1):
                    panels.append(a[0].mean(-1).cpu())
                    titles.append(f"{stream} n={n}")
        else:
            panels = [a[0].mean(-1).cpu() for a in att]
            titles = [f"iteration {n}" for n in range(1, len(panels) + 1)]
        return plot_joint_weights(layout, joints[:, frame].cpu(), torch.stack(panels), path, titles=titles,
                                  suptitle="GCA-LSTM informativeness (mean over frames)")
    return None


def run_experiment(model: nn.Module, train_set: Dataset, val_set: Dataset | None, test_set: Dataset | None,
                   config: TrainConfig, out_dir: str | Path, *, class_names: Sequence[str], layout: Layout,
                   meta: dict[str, Any], resume: bool = False, override: bool = False,
                   after_training: Callable[[Trainer], dict[str, Any]] | None = None) -> dict[str, Any]:
    """Train (resuming when asked), reload the best checkpoint, evaluate on the test split, write
    ``metrics.json``, the plots (training curves, confusion matrix, joint weights) and the inference export
    ``model.pt``. Returns the metrics.

    The run folder is held by a :class:`~skelgraph.training.runs.RunFolder` throughout: locked, refused if it
    holds another run (unless ``resume``), refused on resume with a changed configuration (unless ``override``),
    checked before the first batch, and SIGINT / SIGTERM stop the run cleanly.

    ``after_training`` runs on the trained model before testing (e.g. choosing the ARRN fusion weight on the
    validation split); what it returns is stored in the metrics.
    """
    init_distributed()
    with RunFolder(out_dir, config, meta, resume=resume, override=override,
                   need_bytes=checkpoint_bytes(model, config.optimizer)) as run:
        return _run_experiment(run, model, train_set, val_set, test_set, config, out_dir, class_names=class_names,
                               layout=layout, meta=meta, resume=resume, after_training=after_training)


def _run_experiment(run: RunFolder, model: nn.Module, train_set: Dataset, val_set: Dataset | None,
                    test_set: Dataset | None, config: TrainConfig, out_dir: str | Path, *,
                    class_names: Sequence[str], layout: Layout, meta: dict[str, Any], resume: bool,
                    after_training: Callable[[Trainer], dict[str, Any]] | None) -> dict[str, Any]:
    out = Path(out_dir)
    trainer = Trainer(model, train_set, val_set, config, out_dir=out, class_names=class_names, meta=meta)
    if resume:
        if trainer.resume():
            print(f"resuming {out} after epoch {trainer.state.epoch}")
        else:
            print(f"nothing to resume in {out}: starting a new run")
    run.started(trainer)
    started = time.perf_counter()
    trainer.fit()
    seconds = time.perf_counter() - started
    trainer.load_best()
    result: dict[str, Any] = {"train_seconds": seconds, "epochs": trainer.state.epoch,
                              "best_epoch": trainer.state.best_epoch, "config": asdict(config), "meta": meta}
    result["run"] = [{k: s[k] for k in ("from_epoch", "overridden") if k in s} for s in run.segments]  # run.json
    if after_training is not None:
        result.update(after_training(trainer))
        trainer.save("best.pt")
    if val_set is not None:
        result["val"] = trainer.evaluate(val_set).compute()
    meter: ClassificationMeter | None = None
    if test_set is not None:
        meter = trainer.evaluate(test_set)
        result["test"] = meter.compute()
        result["test_per_class"] = dict(zip(class_names, meter.per_class_accuracy().tolist()))
        result["test_confusion"] = meter.confusion.tolist()
    if trainer.is_main:
        out.mkdir(parents=True, exist_ok=True)
        export_model(out / "model.pt", trainer.model, meta, class_names)
        (out / "metrics.json").write_text(json.dumps(result, indent=2, default=str))
        try:
            from skelgraph.training.plots import plot_confusion, plot_history

            plot_history(trainer.state.history, out / "curves.png")
            if meter is not None:
                plot_confusion(meter.confusion, class_names, out / "confusion.png")
            if test_set is not None and len(test_set):
                plot_attention(trainer.model, test_set[0], layout, out / "attention.png")
        except ImportError as err:
            print(f"no plots: {err}")
    return result


def select_fusion_weight(trainer: Trainer, val_set: Dataset) -> dict[str, Any]:
    """ARRN-LSTM Eq. (12): pick ``alpha`` on the validation split's per-stream scores and set it in the model."""
    from skelgraph.nn.arrn import select_alpha

    model = trainer.model
    model.eval()
    joint, line, ys = [], [], []
    with torch.no_grad():
        for batch in trainer.eval_loader(val_set):
            batch = batch.to(trainer.device)
            logits = model.stream_logits(batch)
            joint.append(logits["joint"].float().cpu())
            line.append(logits["line"].float().cpu())
            ys.append(batch.y.cpu())
    y = torch.cat(ys)
    if trainer.world > 1:  # every rank needs the same alpha: gather the shards
        parts: list[Any] = [None] * trainer.world
        torch.distributed.all_gather_object(parts, (torch.cat(joint), torch.cat(line), y))
        joint, line, ys = [p[0] for p in parts], [p[1] for p in parts], [p[2] for p in parts]
        y = torch.cat(ys)
    alpha = select_alpha(torch.cat(joint), torch.cat(line), y)
    model.set_alpha(alpha)
    return {"alpha": alpha}
