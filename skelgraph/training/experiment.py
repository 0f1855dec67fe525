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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from skelgraph.skeleton import Layout
from skelgraph.training.engine import TrainConfig, Trainer, init_distributed
from skelgraph.training.metrics import ClassificationMeter


def base_parser(description: str, *, epochs: int, batch_size: int, lr: float) -> argparse.ArgumentParser:
    """The options every recipe has; paper values are the defaults a recipe passes in."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data-root", default=None,
                   help="dataset folder (default: the repository's datasets/<name>, or $SKELGRAPH_DATA/<name>)")
    p.add_argument("--out", default=None, help="run folder: log, checkpoints, plots, metrics.json")
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--batch-size", type=int, default=batch_size, help="per process (per GPU under torchrun)")
    p.add_argument("--lr", type=float, default=lr)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
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


@dataclass
class JointWeights:
    """A model's joint weights on one sample, per frame, ready to draw.

    Attributes:
        weights: ``[P, S, J, T]``: ``P`` panels (streams, attention iterations) for each of the ``S`` skeletons
            the model saw (one per body, or one for stacked bodies), ``J`` joints, ``T`` frames.
        titles: One title per panel.
        description: What the weights are (for the figure title).
        label: Colour-bar label.
    """

    weights: torch.Tensor
    titles: list[str]
    description: str
    label: str


@torch.no_grad()
def joint_weights(model: nn.Module, sample: Any) -> JointWeights | None:
    """The joint weights of ``model`` on ``sample`` (a transformed graph, as the model sees it): ARRN-LSTM's node
    masks (Eq. 9, the same for every frame), or GCA-LSTM's informativeness scores ``r(n)`` (Eq. 6) per attention
    iteration. None for models without either.

    The ST-LSTM visits most joints several times along its tree traversal, so a joint's GCA score is the mean
    over its visits (a sum would mostly show how often the traversal passes a joint), and it is given as a
    multiple of the uniform score ``1 / (L T)`` over the scored grid (1: average attention). The coarse stream of
    the two-stream model scores body parts; every joint shows its part's score (as a multiple of ``1 / (P T)``).
    """
    from torch_geometric.data import Batch

    was_training = model.training
    model.eval()
    try:
        if hasattr(model, "mask_weights"):
            masks = model.mask_weights()
            if not masks:
                return None
            T = sample.x.size(1)
            S = max(1, sample.x.size(0) // len(next(iter(masks.values()))))
            weights = torch.stack([m.cpu().view(1, -1, 1).expand(S, -1, T) for m in masks.values()])
            return JointWeights(weights, [f"{k} stream mask" for k in masks],
                                "ARRN-LSTM node mask m (Eq. 9), the same in every frame", "mask weight m")
        if not hasattr(model, "attention") or not hasattr(model, "encoder"):
            return None
        batch = Batch.from_data_list([sample]).to(next(model.parameters()).device)
        scores = model.attention(batch)
        chain = model.encoder.chain
        fine = scores["fine"] if isinstance(scores, dict) else scores
        panels: list[torch.Tensor] = []
        titles: list[str] = []
        for n, r in enumerate(fine, 1):
            uniform = r.size(1) * r.size(2)  # L * T cells; r sums to one over them (Eq. 6)
            panels.append(model._chain_to_joints(r, reduce="mean").cpu() * uniform)
            titles.append(f"{'fine, ' if isinstance(scores, dict) else ''}iteration n={n}")
        if isinstance(scores, dict):
            parts = model.layout.part_index
            for n, r in enumerate(scores["coarse"], 1):
                panels.append(r.cpu().index_select(1, parts) * (r.size(1) * r.size(2)))
                titles.append(f"coarse (body parts), n={n}")
        coarse = "; coarse: each joint shows its body part's score (Eq. 11)" if isinstance(scores, dict) else ""
        return JointWeights(torch.stack(panels), titles,
                            f"GCA-LSTM informativeness r(n) (Eq. 6), mean over the {chain.numel()} chain "
                            f"positions' visits of each joint{coarse}", "score / uniform score (1 = uniform)")
    finally:
        model.train(was_training)


def _bodies_and_weights(model: nn.Module, sample: Any, layout: Layout) -> tuple[Any, torch.Tensor, JointWeights,
                                                                              int] | None:
    """Drawable bodies ``[B, J, T, D]``, their weights ``[P, B, J, T]``, the weights, and the real frame count."""
    from skelgraph.training.plots import skeleton_bodies

    jw = joint_weights(model, sample)
    if jw is None:
        return None
    bodies = skeleton_bodies(sample.x.cpu(), layout)
    # A skeleton of the model is one body, or several bodies side by side in the channels (StackBodies).
    per_skeleton = bodies.shape[0] // jw.weights.size(1)
    weights = jw.weights.repeat_interleave(per_skeleton, dim=1)
    frames = int(sample.num_frames) if "num_frames" in sample else sample.x.size(1)
    return bodies, weights, jw, max(1, min(frames, sample.x.size(1)))


def plot_attention(model: nn.Module, sample: Any, layout: Layout, path: Path, up: str | None = None) -> Path | None:
    """Draw the model's joint weights (:func:`joint_weights`, averaged over the sample's real frames) on the
    sample's skeletons at its middle frame; every body of the sample is its own skeleton. ``up`` overrides the
    layout's up axis (``"+y"`` after :class:`~skelgraph.transforms.ViewNormalize`). Returns None for models
    without joint weights."""
    import numpy as np

    from skelgraph.training.plots import plot_joint_weights

    drawn = _bodies_and_weights(model, sample, layout)
    if drawn is None:
        return None
    bodies, weights, jw, n = drawn
    present = np.isfinite(bodies[:, 0, :n, 0]).any(axis=0)
    frames = np.flatnonzero(present)
    t = int(frames[len(frames) // 2]) if frames.size else 0
    return plot_joint_weights(layout, bodies[:, :, t], weights[..., :n].mean(-1), path, titles=jw.titles,
                              suptitle=f"{jw.description}\naveraged over {n} frames, skeleton at frame {t + 1}",
                              label=jw.label, up=up)


def animate_attention(model: nn.Module, sample: Any, layout: Layout, path: Path, up: str | None = None,
                      fps: float = 8.0) -> Path | None:
    """An animated GIF of the sample's skeletons over its real frames with the model's per-frame joint weights
    (:func:`joint_weights`). Returns None for models without joint weights."""
    from skelgraph.training.plots import SkeletonAnimation

    drawn = _bodies_and_weights(model, sample, layout)
    if drawn is None:
        return None
    bodies, weights, jw, n = drawn
    animation = SkeletonAnimation(layout, bodies[:, :, :n], weights[..., :n], titles=jw.titles,
                                  suptitle=jw.description, label=jw.label, up=up)
    return animation.save(path, fps=fps)


def describe_dataset(meta: dict[str, Any]) -> str:
    """``"sbu, fold 0"``-style name of a run's data from its ``meta["dataset"]`` (empty when unknown)."""
    d = dict(meta.get("dataset") or {})
    name = str(d.pop("name", ""))
    full = d.pop("full", None)
    details = [f"{k} {v}" for k, v in d.items()] + (["bundled samples only"] if full is False else [])
    return ", ".join([name, *details]) if name else ", ".join(details)


def plot_up(meta: dict[str, Any]) -> str | None:
    """The up axis of a run's pre-processed samples: ``"+y"`` after view normalisation (hip -> spine along +y),
    otherwise None (the layout's own)."""
    return "+y" if (meta.get("pipeline") or {}).get("view_normalize") else None


def run_experiment(model: nn.Module, train_set: Dataset, val_set: Dataset | None, test_set: Dataset | None,
                   config: TrainConfig, out_dir: str | Path, *, class_names: Sequence[str], layout: Layout,
                   meta: dict[str, Any], resume: bool = False,
                   after_training: Callable[[Trainer], dict[str, Any]] | None = None) -> dict[str, Any]:
    """Train (resuming when asked), reload the best checkpoint, evaluate on the test split, write
    ``metrics.json`` and the plots (training curves, confusion matrix, joint weights as ``attention.png`` and as
    an animated ``attention.gif``). Returns the metrics.

    ``after_training`` runs on the trained model before testing (e.g. choosing the ARRN fusion weight on the
    validation split); what it returns is stored in the metrics.
    """
    init_distributed()
    out = Path(out_dir)
    trainer = Trainer(model, train_set, val_set, config, out_dir=out, class_names=class_names, meta=meta)
    if resume:
        if trainer.resume():
            print(f"resuming {out} after epoch {trainer.state.epoch}")
        else:
            print(f"nothing to resume in {out}: starting a new run")
    started = time.perf_counter()
    trainer.fit()
    seconds = time.perf_counter() - started
    trainer.load_best()
    result: dict[str, Any] = {"train_seconds": seconds, "epochs": trainer.state.epoch,
                              "best_epoch": trainer.state.best_epoch, "config": asdict(config), "meta": meta}
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
        (out / "metrics.json").write_text(json.dumps(result, indent=2, default=str))
        try:
            from skelgraph.training.plots import plot_confusion, plot_history

            data_name = describe_dataset(meta)
            plot_history(trainer.state.history, out / "curves.png",
                         title=f"{data_name + ': ' if data_name else ''}loss and validation accuracy")
            if meter is not None:
                top1 = result["test"]["top1"]
                plot_confusion(meter.confusion, class_names, out / "confusion.png",
                               title=f"{data_name + ', ' if data_name else ''}test split: top-1 {top1:.1%} "
                                     f"({result['test']['samples']} samples)")
            if test_set is not None and len(test_set):
                plot_attention(trainer.model, test_set[0], layout, out / "attention.png", up=plot_up(meta))
                animate_attention(trainer.model, test_set[0], layout, out / "attention.gif", up=plot_up(meta))
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
