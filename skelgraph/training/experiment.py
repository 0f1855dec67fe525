"""What every recipe shares: validation splits, coordinate scale, and a run that trains, evaluates and plots.

Recipes only pick a dataset, a model and a configuration (:mod:`skelgraph.recipes`); everything else is here,
where the tests reach it. :func:`run_experiment` writes the recipe's configuration to ``RUN/config.json`` (replay
it with ``--config RUN/config.json``) next to ``RUN/provenance.json`` (:mod:`skelgraph.training.provenance`).
"""

from __future__ import annotations

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
from skelgraph.training import provenance
from skelgraph.training.engine import TrainConfig, Trainer, init_distributed
from skelgraph.training.metrics import ClassificationMeter
from skelgraph.training.runs import RunFolder, checkpoint_bytes
from skelgraph.training.selection import dataset_attribute


def stratified_split(labels: Sequence[int], fraction: float, seed: int = 0) -> tuple[list[int], list[int]]:
    """Split indices into (train, validation) keeping about ``fraction`` of every class for validation
    (at least one sample of a class with two or more; none at all when ``fraction <= 0``). Validation never
    comes from a test split."""
    if fraction <= 0:
        return list(range(len(labels))), []
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
    in-memory dataset when there is one): :func:`~skelgraph.training.selection.dataset_attribute` of ``y``."""
    return dataset_attribute(dataset, "y")


def coordinate_scale(dataset: Dataset, layout: Layout, max_samples: int = 2000, per_frame: bool = True,
                     over: str = "first") -> float:
    """``1 / std`` of the centred joint coordinates of a (training) dataset, over the frames where a body is
    present; at most ``max_samples`` evenly spaced samples are read. Multiplying by it gives unit-scale inputs.
    ``per_frame``, ``over``: centred as :class:`~skelgraph.transforms.CenterJoints` with the same arguments
    (``per_frame=False``: on the first frame's centre, as the pipeline's ``center="sequence"``, or with
    ``over="mean"`` on the mean centre, as ``center="mean"``)."""
    from skelgraph.transforms import CenterJoints

    center = CenterJoints(layout, per_frame=per_frame, over=over)
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
        center: The weights' reference value (uniform attention, the mask's initial value): the centre of a
            diverging colour scale.
    """

    weights: torch.Tensor
    titles: list[str]
    description: str
    label: str
    center: float | None = None


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
                                "ARRN-LSTM node mask m (Eq. 9), the same in every frame",
                                "mask m; white: 1, its initial value", center=1.0)
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
                            f"positions' visits of each joint{coarse}",
                            "r(n) / uniform 1/(L T); white: uniform", center=1.0)
    finally:
        model.train(was_training)


def _bodies_and_weights(model: nn.Module, sample: Any, layout: Layout, channels_per_body: int | None = None
                        ) -> tuple[Any, torch.Tensor, JointWeights, int, Any, tuple[float, float] | None] | None:
    """Drawable bodies ``[B, J, T, D]``, their weights ``[P, B, J, T]``, the weights, the real frame count, the
    keypoint scores ``[B, J, T]`` (None without), and the colour range of every real frame's weights (centred on
    the weights' reference; None without one): the PNG and the GIF of a sample share it."""
    from skelgraph.training.plots import centred_range, skeleton_bodies

    jw = joint_weights(model, sample)
    if jw is None:
        return None
    bodies = skeleton_bodies(sample.x.cpu(), layout, channels_per_body)
    # A skeleton of the model is one body, or several bodies side by side in the channels (StackBodies).
    per_skeleton = bodies.shape[0] // jw.weights.size(1)
    weights = jw.weights.repeat_interleave(per_skeleton, dim=1)
    frames = int(sample.num_frames) if "num_frames" in sample else sample.x.size(1)
    n = max(1, min(frames, sample.x.size(1)))
    scores = None
    if getattr(sample, "score", None) is not None and sample.score.numel() == bodies.shape[0] * bodies.shape[1] \
            * bodies.shape[2]:
        scores = sample.score.cpu().reshape(bodies.shape[:3]).numpy()
    span = centred_range(weights[..., :n], jw.center) if jw.center is not None else None
    return bodies, weights, jw, n, scores, span


def body_channels(meta: dict[str, Any]) -> int | None:
    """Features per body in a run's pre-processed samples (coordinates first, then velocity and score), from
    its ``meta["pipeline"]``; None without one (the layout's coordinates alone)."""
    from skelgraph.training.registry import pipeline_channels

    spec = meta.get("pipeline")
    if not spec:
        return None
    return pipeline_channels(spec) // max(spec.get("stack_bodies", 0), 1)


def plot_attention(model: nn.Module, sample: Any, layout: Layout, path: Path, up: str | None = None,
                   channels_per_body: int | None = None, note: str | None = None) -> Path | None:
    """Draw the model's joint weights (:func:`joint_weights`, averaged over the sample's real frames) on the
    sample's skeletons at its middle frame; every body of the sample is its own skeleton. ``up`` overrides the
    layout's up axis (``"+y"`` after :class:`~skelgraph.transforms.ViewNormalize`); ``channels_per_body``: the
    features of one body (:func:`body_channels`; default the layout's coordinates); ``note``: which sample this is
    and why (:func:`plot_sample`), added to the title. Returns None for models without joint weights."""
    import numpy as np

    from skelgraph.training.plots import plot_joint_weights

    drawn = _bodies_and_weights(model, sample, layout, channels_per_body)
    if drawn is None:
        return None
    bodies, weights, jw, n, scores, span = drawn
    present = np.isfinite(bodies[:, 0, :n, 0]).any(axis=0)
    frames = np.flatnonzero(present)
    t = int(frames[len(frames) // 2]) if frames.size else 0
    vmin, vmax = span if span is not None else (None, None)
    head = f"{note}\n" if note else ""
    return plot_joint_weights(layout, bodies[:, :, t], weights[..., :n].mean(-1), path, titles=jw.titles,
                              suptitle=f"{head}{jw.description}\naveraged over {n} frames, skeleton at frame {t + 1}",
                              label=jw.label, up=up, center=jw.center, vmin=vmin, vmax=vmax,
                              scores=scores[:, :, t] if scores is not None else None)


def animate_attention(model: nn.Module, sample: Any, layout: Layout, path: Path, up: str | None = None,
                      fps: float = 8.0, channels_per_body: int | None = None, note: str | None = None) -> Path | None:
    """An animated GIF of the sample's skeletons over its real frames with the model's per-frame joint weights
    (:func:`joint_weights`). Returns None for models without joint weights."""
    from skelgraph.training.plots import SkeletonAnimation

    drawn = _bodies_and_weights(model, sample, layout, channels_per_body)
    if drawn is None:
        return None
    bodies, weights, jw, n, scores, span = drawn
    vmin, vmax = span if span is not None else (None, None)
    animation = SkeletonAnimation(layout, bodies[:, :, :n], weights[..., :n], titles=jw.titles,
                                  suptitle=f"{note}\n{jw.description}" if note else jw.description, label=jw.label,
                                  up=up, center=jw.center, vmin=vmin, vmax=vmax,
                                  scores=scores[..., :n] if scores is not None else None)
    return animation.save(path, fps=fps)


@torch.no_grad()
def plot_sample(model: nn.Module, dataset: Dataset, index: int | None = None,
                class_names: Sequence[str] | None = None, batch_size: int = 32) -> tuple[int, str]:
    """The test sample the attention plots draw, and the rule that chose it, in words (for the plots' titles).

    ``index`` (``--plot-sample``) picks it; by default it is the most confidently and correctly classified sample
    (highest softmax probability of the true class among those the model gets right): a sample on which the model
    works, so its weights show what the model uses. When it gets none right, the most confident sample."""
    from torch_geometric.loader import DataLoader

    if index is not None:
        if not 0 <= index < len(dataset):
            raise ValueError(f"--plot-sample {index}: the test split has {len(dataset)} samples (0 .. "
                             f"{len(dataset) - 1})")
        return index, f"test sample {index} (--plot-sample)"
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    best: tuple[bool, float, int, int] = (False, -1.0, 0, 0)  # (correct, probability, index, class)
    seen = 0
    try:
        for batch in DataLoader(dataset, batch_size=batch_size, shuffle=False):
            p, pred = model(batch.to(device)).float().softmax(-1).max(-1)
            for k, (pk, ck, yk) in enumerate(zip(p.tolist(), pred.tolist(), batch.y.tolist())):
                best = max(best, (ck == yk, pk, -(seen + k), ck))
            seen += int(batch.num_graphs)
    finally:
        model.train(was_training)
    correct, probability, index, predicted = best[0], best[1], -best[2], best[3]
    name = f" {class_names[predicted]!r}" if class_names is not None and predicted < len(class_names) else ""
    rule = "the most confident correctly classified one" if correct else \
        "the most confident one; none is classified correctly"
    return index, f"test sample {index}: {rule} (p = {probability:.2f}{',' + name if name else ''})"


def describe_dataset(meta: dict[str, Any]) -> str:
    """``"sbu, fold 0"``-style name of a run's data from its ``meta["dataset"]`` (empty when unknown)."""
    d = dict(meta.get("dataset") or {})
    name = str(d.pop("name", ""))
    full = d.pop("full", None)
    if "path" in d:  # users' data: the file or folder's name says enough in a title
        d["path"] = Path(str(d["path"])).name
    details = [f"{k} {v}" for k, v in d.items() if not isinstance(v, (dict, list))]
    details += ["bundled samples only"] if full is False else []
    return ", ".join([name, *details]) if name else ", ".join(details)


def plot_up(meta: dict[str, Any]) -> str | None:
    """The up axis of a run's pre-processed samples: ``"+y"`` after view normalisation (hip -> spine along +y),
    otherwise None (the layout's own)."""
    return "+y" if (meta.get("pipeline") or {}).get("view_normalize") else None


def run_experiment(model: nn.Module, train_set: Dataset, val_set: Dataset | None, test_set: Dataset | None,
                   config: TrainConfig, out_dir: str | Path | None, *, class_names: Sequence[str], layout: Layout,
                   meta: dict[str, Any], resume: bool = False, override: bool = False,
                   after_training: Callable[[Trainer], dict[str, Any]] | None = None,
                   monitor_test: bool = False, recipe_config: dict[str, Any] | None = None,
                   argv: Sequence[str] | None = None, plot_sample: int | None = None) -> dict[str, Any]:
    """Train (resuming when asked), reload the best checkpoint, evaluate on the test split, write
    ``metrics.json`` (what the seed determines: byte-identical across repeated runs on CPU), ``timing.json``, the
    plots (training curves, confusion matrix, joint weights on the test sample :func:`plot_sample` picks, or the
    ``plot_sample``-th, as ``attention.png`` and as an animated
    ``attention.gif``) and the inference export ``model.pt``. Returns the
    metrics plus ``train_seconds``. A stepwise run records ``stepwise_reached`` (deepest step trained) and is
    evaluated from that step.

    The run folder is held by a :class:`~skelgraph.training.runs.RunFolder` throughout: locked, refused if it
    holds another run (unless ``resume``), refused on resume with a changed configuration (unless ``override``),
    checked before the first batch, and SIGINT / SIGTERM stop the run cleanly. ``out_dir=None`` writes nothing
    (no run folder, no plots); with ``config.save_checkpoints=False`` the best weights are kept in memory, as the
    folds of a leave-one-out protocol do.

    ``monitor_test=True`` also evaluates the test split after every epoch (``test_top1`` in ``log.jsonl``) and
    records its best epoch in ``metrics.json`` as ``optimistic_best_test`` (clearly not the result: picking an
    epoch on test data is how the papers' numbers compare, not an honest estimate); it chooses nothing.

    Before training, ``provenance.json`` (with the command line ``argv``) and, given ``recipe_config`` (a recipe's
    :meth:`~skelgraph.recipes.config.RecipeConfig.to_dict`), ``config.json`` (replayable with ``--config``) are
    written to ``out_dir``.

    ``after_training`` runs on the trained model before testing (e.g. choosing the ARRN fusion weight on the
    validation split); what it returns is stored in the metrics.
    """
    init_distributed()
    kwargs = dict(class_names=class_names, layout=layout, meta=meta, resume=resume, after_training=after_training,
                  monitor_test=monitor_test, recipe_config=recipe_config, argv=argv, plot_index=plot_sample)
    if out_dir is None:
        return _run_experiment(None, model, train_set, val_set, test_set, config, None, **kwargs)
    with RunFolder(out_dir, config, meta, resume=resume, override=override,
                   need_bytes=checkpoint_bytes(model, config.optimizer)) as run:
        return _run_experiment(run, model, train_set, val_set, test_set, config, out_dir, **kwargs)


def _run_experiment(run: RunFolder | None, model: nn.Module, train_set: Dataset, val_set: Dataset | None,
                    test_set: Dataset | None, config: TrainConfig, out_dir: str | Path | None, *,
                    class_names: Sequence[str], layout: Layout, meta: dict[str, Any], resume: bool,
                    after_training: Callable[[Trainer], dict[str, Any]] | None, monitor_test: bool,
                    recipe_config: dict[str, Any] | None, argv: Sequence[str] | None,
                    plot_index: int | None) -> dict[str, Any]:
    out = Path(out_dir) if out_dir is not None else None
    if plot_index is not None and test_set is not None and not 0 <= plot_index < len(test_set):
        raise ValueError(f"--plot-sample {plot_index}: the test split has {len(test_set)} samples (0 .. "
                         f"{len(test_set) - 1})")
    monitor = {"test": test_set} if monitor_test and test_set is not None else None
    trainer = Trainer(model, train_set, val_set, config, out_dir=out, class_names=class_names, meta=meta,
                      monitor=monitor)
    trainer.finish_later = True  # the final last.pt waits for model.pt and shares its tensors (Trainer.finish)
    resumed = False
    if resume:
        resumed = trainer.resume()
        if resumed:
            print(f"resuming {out} after epoch {trainer.state.epoch}")
        else:
            print(f"nothing to resume in {out}: starting a new run")
    if trainer.is_main and out is not None:
        record = provenance.collect(argv=list(argv) if argv is not None else None, recipe_args=recipe_config,
                                    train_config=asdict(config), seed=config.seed, device=config.device)
        provenance.write_run_records(out, record, resume=resumed)
    if run is not None:
        run.started(trainer)
    started = time.perf_counter()
    trainer.fit()
    seconds = time.perf_counter() - started
    trainer.load_best()
    # metrics.json holds only what the seed determines (no timings), so repeated runs compare byte for byte.
    result: dict[str, Any] = {"epochs": trainer.state.epoch, "best_epoch": trainer.state.best_epoch,
                              "config": asdict(config), "meta": meta}
    curve = [h["test_top1"] for h in trainer.state.history if "test_top1" in h]
    if curve:
        best = max(range(len(curve)), key=curve.__getitem__)
        result["optimistic_best_test"] = {"top1": curve[best], "epoch": best + 1,
                                          "note": "epoch picked on the test split: optimistic, not the result"}
    if config.stepwise:
        # The evaluations below classify from the step best.pt was taken in (the model carries it).
        result.update(stepwise_reached=trainer.stepwise_reached, stepwise_completed=trainer.state.stepwise_done,
                      best_step=trainer.state.best_step, num_iterations=trainer.model.num_iterations)
    if run is not None:
        result["run"] = [{k: s[k] for k in ("from_epoch", "overridden") if k in s} for s in run.segments]  # run.json
    if after_training is not None:
        result.update(after_training(trainer))
    if val_set is not None:
        result["val"] = trainer.evaluate(val_set).compute()
    meter: ClassificationMeter | None = None
    if test_set is not None:
        meter = trainer.evaluate(test_set)
        result["test"] = meter.compute()
        result["test_per_class"] = dict(zip(class_names, meter.per_class_accuracy().tolist()))
        result["test_confusion"] = meter.confusion.tolist()
    if trainer.is_main and out is not None:
        out.mkdir(parents=True, exist_ok=True)
        trainer.finish(meta)  # model.pt, then last.pt / best.pt as config.keep says
        (out / "metrics.json").write_text(json.dumps(result, indent=2, default=str))
        epoch_seconds = [h.get("seconds") for h in trainer.state.history]
        (out / "timing.json").write_text(json.dumps({"train_seconds": seconds, "epoch_seconds": epoch_seconds}))
        try:
            from skelgraph.training.plots import plot_confusion, plot_history

            data_name = describe_dataset(meta)
            plot_history(trainer.state.history, out / "curves.png", context=data_name or None)
            if meter is not None:
                top1 = result["test"]["top1"]
                plot_confusion(meter.confusion, class_names, out / "confusion.png",
                               title=f"{data_name + ', ' if data_name else ''}test split: top-1 {top1:.1%} "
                                     f"({result['test']['samples']} samples)")
            if test_set is not None and len(test_set):
                index, note = plot_sample(trainer.model, test_set, plot_index, class_names)
                drawing = dict(up=plot_up(meta), channels_per_body=body_channels(meta), note=note)
                plot_attention(trainer.model, test_set[index], layout, out / "attention.png", **drawing)
                animate_attention(trainer.model, test_set[index], layout, out / "attention.gif", **drawing)
        except ImportError as err:
            print(f"no plots: {err}")
    result["train_seconds"] = seconds  # returned for reports, kept out of metrics.json (see timing.json)
    return result


@torch.no_grad()
def stream_scores(trainer: Trainer, dataset: Dataset) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """An ARRN-LSTM's per-stream logits on ``dataset`` and its labels: ``(joint [N, K], line [N, K], y [N])``,
    this rank's shard."""
    model = trainer.model
    model.eval()
    joint, line, ys = [], [], []
    for batch in trainer.eval_loader(dataset):
        batch = batch.to(trainer.device)
        logits = model.stream_logits(batch)
        joint.append(logits["joint"].float().cpu())
        line.append(logits["line"].float().cpu())
        ys.append(batch.y.cpu())
    return torch.cat(joint), torch.cat(line), torch.cat(ys)


def select_fusion_weight(trainer: Trainer, val_set: Dataset) -> dict[str, Any]:
    """ARRN-LSTM Eq. (12): pick ``alpha`` on the validation split's per-stream scores and set it in the model."""
    from skelgraph.nn.arrn import select_alpha

    joint, line, y = stream_scores(trainer, val_set)
    if trainer.world > 1:  # every rank needs the same alpha: gather the shards
        parts: list[Any] = [None] * trainer.world
        torch.distributed.all_gather_object(parts, (joint, line, y))
        joint, line, y = (torch.cat([p[i] for p in parts]) for i in range(3))
    alpha = select_alpha(joint, line, y)
    trainer.model.set_alpha(alpha)
    return {"alpha": alpha}
