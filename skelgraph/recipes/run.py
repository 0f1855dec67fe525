"""The run every recipe shares (selection on training data, training, test, files) and the fold loop.

:func:`train_arrn` and :func:`train_gca` take a :class:`~skelgraph.recipes.config.RecipeConfig` and a dataset's
train and test splits; :func:`run_folds` repeats a run over folds and writes their summary.
"""

from __future__ import annotations

import json
import math
import os.path as osp
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from skelgraph.recipes.config import RecipeConfig
from skelgraph.recipes.models import build_arrn_model, build_gca_model
from skelgraph.recipes.sections import GCAOptions, Optimisation, RunOptions
from skelgraph.recipes.splits import inner_cv, prepare_splits, recipe_pipeline
from skelgraph.training.engine import TrainConfig
from skelgraph.training.experiment import run_experiment, select_fusion_weight
from skelgraph.training.metrics import fold_summary
from skelgraph.training.registry import model_spec, pipeline_channels
from skelgraph.training.seeding import seed_everything


def train_config(optim: Optimisation, run: RunOptions, **extra: Any) -> TrainConfig:
    """The engine's :class:`~skelgraph.training.TrainConfig` of an optimisation and run part; ``extra``: further
    fields (``save_checkpoints``, the stepwise ones)."""
    return TrainConfig(epochs=optim.epochs, batch_size=optim.batch_size, lr=optim.lr, optimizer=optim.optimizer,
                       momentum=optim.momentum, weight_decay=optim.weight_decay, schedule=optim.schedule_name(),
                       lr_decay=optim.lr_decay, plateau_patience=optim.plateau_patience, grad_clip=optim.grad_clip,
                       grad_clamp=optim.grad_clamp, rmsprop_alpha=optim.rmsprop_alpha,
                       adam_beta2=optim.adam_beta2, ema_epochs=optim.ema,
                       device=run.device, seed=run.seed, num_workers=run.workers, amp=run.amp, compile=run.compile,
                       tensorboard=run.tensorboard, progress=run.progress, log_every=run.log_every, quiet=run.quiet,
                       checkpoint_every=60.0 * run.checkpoint_every, keep=run.keep, **extra)


def stepwise_fields(model: GCAOptions, epochs: int) -> dict[str, Any]:
    """The stepwise :class:`~skelgraph.training.TrainConfig` fields of a GCA model: Algorithm 1 when
    ``model.stepwise``, each step bounded by ``model.stepwise_max_epochs`` (default ``epochs / (N + 1)`` rounded up;
    0: no bound)."""
    if not model.stepwise:
        return {}
    bound = model.stepwise_max_epochs
    if bound is None:
        bound = math.ceil(epochs / (model.N + 1))
    return dict(stepwise=True, stepwise_patience=model.stepwise_patience, stepwise_max_epochs=bound or None)


def _train_and_test(config: RecipeConfig, train_full: Any, test: Any, out: str | None, dataset_meta: dict[str, Any],
                    build: Callable[[dict[str, Any]], tuple[Any, dict[str, Any]]], *, save_checkpoints: bool,
                    stacked: bool = False, score: bool = False, two_streams: bool = False) -> dict[str, Any]:
    """The run every recipe shares: selection (``config.protocol.selection``), training, test, files."""
    protocol, model_options, seed = config.protocol, config.model, config.run.seed
    pipeline = partial(recipe_pipeline, T=model_options.T, protocol=protocol, stacked=stacked, score=score)
    stepwise = isinstance(model_options, GCAOptions) and model_options.stepwise
    chosen: dict[str, Any] | None = None
    optim = config.optim
    if protocol.selection == "inner-cv":
        inner = train_config(optim, config.run, save_checkpoints=False)
        chosen = inner_cv(train_full, lambda spec: build(spec)[0], pipeline, inner, protocol=protocol, seed=seed,
                          two_streams=two_streams)
        optim = optim.from_dict({"epochs": chosen["epoch"]}, optim)
    splits = prepare_splits(train_full, test, pipeline, protocol=protocol, seed=seed)
    model, meta_model = build(splits.pipeline)
    val = splits.val
    after = None
    fixed_alpha = getattr(model_options, "alpha", None)
    if two_streams and fixed_alpha is not None:
        def after(trainer: Any) -> dict[str, Any]:
            trainer.model.set_alpha(fixed_alpha)
            return {"alpha": fixed_alpha, "alpha_source": "fixed by --alpha"}
    elif two_streams and chosen is not None:
        def after(trainer: Any) -> dict[str, Any]:
            trainer.model.set_alpha(chosen["alpha"])
            return {"alpha": chosen["alpha"], "alpha_source": "chosen by inner cross-validation"}
    elif two_streams and val is not None:
        def after(trainer: Any) -> dict[str, Any]:
            return dict(select_fusion_weight(trainer, val), alpha_source="chosen on the validation split")
    elif two_streams:  # nothing to choose alpha on: the model's own (0.5 unless built otherwise)
        def after(trainer: Any) -> dict[str, Any]:
            return {"alpha": float(trainer.model.alpha),
                    "alpha_source": "fixed by the recipe: no validation data to choose it on"}
    meta = {"model": meta_model, "pipeline": splits.pipeline, "dataset": dataset_meta, "selection": protocol.selection}
    if isinstance(model_options, GCAOptions):
        meta["training"] = "stepwise" if stepwise else "direct"
    extra = stepwise_fields(model_options, optim.epochs) if stepwise else {}
    train = train_config(optim, config.run, save_checkpoints=save_checkpoints, **extra)
    result = run_experiment(model, splits.train, val, test, train, out, class_names=list(train_full.class_names),
                            layout=train_full.layout, meta=meta, resume=config.run.resume,
                            override=config.run.override, after_training=after, monitor_test=protocol.monitor_test,
                            recipe_config=config.to_dict(), argv=config.argv, plot_sample=config.run.plot_sample)
    if chosen is not None:
        result["selection"] = chosen
        if out is not None:
            Path(out, "selection.json").write_text(json.dumps(chosen, indent=1))
    report(result, out)
    return result


def train_arrn(config: RecipeConfig, train_full: Any, test: Any, out: str | None, dataset_meta: dict[str, Any], *,
               save_checkpoints: bool = True, score: bool = False) -> dict[str, Any]:
    """Build (:func:`~skelgraph.recipes.models.build_arrn_model` of ``config.model``, ``in_channels`` from the
    pipeline: the layout's coordinates, with velocity their displacements too, with ``score`` the confidence),
    train and test ARRN-LSTM on a dataset's splits. The best epoch and, with two streams, ``alpha`` of Eq. (12)
    are chosen on training data (``config.protocol.selection``). ``out=None`` with ``save_checkpoints=False``
    writes nothing (folds of a leave-one-out protocol). Returns the run's metrics."""
    K = len(train_full.class_names)

    def build(spec: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        extra = {}
        if not config.model.line_velocity and spec.get("velocity"):  # positions come first in each joint's features
            extra["line_channels"] = pipeline_channels({**spec, "velocity": False, "score": False})
        if config.model.rrn_graph == "bones":
            extra["edges"] = list(train_full.layout.bone_pairs)
        model = build_arrn_model(config.model, K, num_joints=train_full.layout.num_joints,
                                 in_channels=pipeline_channels(spec), **extra)
        return model, model_spec(model)

    return _train_and_test(config, train_full, test, out, dataset_meta, build, save_checkpoints=save_checkpoints,
                           score=score, two_streams=config.model.streams() == ("joint", "line"))


def train_gca(config: RecipeConfig, train_full: Any, test: Any, out: str | None, dataset_meta: dict[str, Any], *,
              save_checkpoints: bool = True, score: bool = False) -> dict[str, Any]:
    """Build ``config.model`` (:func:`~skelgraph.recipes.models.build_gca_model`), train it directly or stepwise
    (Algorithm 1) and test it; the best epoch is chosen on training data (``config.protocol.selection``). Returns
    the run's metrics."""
    K = len(train_full.class_names)

    def build(spec: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        model, kwargs = build_gca_model(config.model, train_full.layout, K, pipeline_channels(spec))
        return model, model_spec(model, **kwargs)

    return _train_and_test(config, train_full, test, out, dataset_meta, build, save_checkpoints=save_checkpoints,
                           stacked=config.model.bodies == "stacked", score=score)


def report(result: dict[str, Any], out: str | None) -> None:
    """One line per run (test top-1 / top-5, alpha and where it came from, stepwise step reached, epochs, time),
    then what the run folder holds and the commands to use it (:func:`~skelgraph.training.runs.run_summary`)."""
    from skelgraph.training.runs import run_summary

    test = result.get("test")
    top5 = test.get("top5") if test else None
    line = f"test top-1 {test['top1']:.2%}" + (f", top-5 {top5:.2%} " if top5 == top5 and top5 is not None else " ") \
        if test else ""
    extra = ""
    if "stepwise_reached" in result:
        extra += f"stepwise step {result['stepwise_reached']} of {result['num_iterations']}, "
    alpha = ""
    if "alpha" in result:
        source = f", {result['alpha_source']}" if "alpha_source" in result else ""
        alpha = f"; alpha {result['alpha']:.2f} (joint-stream weight in the fused score{source})"
    print(f"{line}({extra}{result['epochs']} epochs, {result['train_seconds']:.0f} s){alpha}")
    summary = run_summary(out, result) if out else ""
    if summary:
        print(summary)


def run_folds(run: Callable[[Any], dict[str, Any]], folds: Sequence[Any], *, label: str, out: str,
              seed: int) -> dict[str, Any]:
    """Run every fold (or subset) and summarise the test results in ``out/summary.json``.

    Every fold starts from ``seed_everything(seed)``, so fold ``k`` gives the same result whether it runs alone
    (``--folds k``) or after others. The summary holds the mean and spread of the per-fold top-1, the pooled
    accuracy over all test samples (what leave-one-out reports: every fold tests one sample) and each fold's
    test metrics (with ``stepwise_reached`` / ``alpha`` where the run chose them).
    """
    results, wall = {}, {}
    for fold in folds:
        seed_everything(seed)
        started = time.perf_counter()
        results[str(fold)] = run(fold)
        wall[str(fold)] = time.perf_counter() - started  # selection (inner cross-validation) included
    top1 = [r["test"]["top1"] for r in results.values()]
    summary = fold_summary(top1)
    samples = sum(r["test"]["samples"] for r in results.values())
    correct = sum(round(r["test"]["top1"] * r["test"]["samples"]) for r in results.values())
    summary["pooled_top1"] = correct / samples if samples else math.nan
    summary["samples"] = samples
    if len(results) <= 12:
        detail = ", ".join(f"{k}: {v:.2%}" for k, v in zip(results, top1))
    else:
        detail = f"{len(results)} folds"
    if summary["n"] == 1:  # one fold has no spread to show
        print(f"{label}: top-1 {summary['mean']:.2%} of {samples} test samples ({detail}; one fold)")
    else:
        print(f"{label}: mean top-1 {summary['mean']:.2%} ± {summary['std']:.2%} over {summary['n']} folds, pooled "
              f"{summary['pooled_top1']:.2%} of {samples} test samples ({detail})")
    keep = ("alpha", "stepwise_reached", "best_epoch", "epochs", "optimistic_best_test", "selection", "train_seconds")
    per_fold = {k: dict(r["test"], wall_seconds=wall[k], **{key: r[key] for key in keep if key in r})
                for k, r in results.items()}
    out_summary = {"summary": summary, "per_fold": per_fold}
    Path(out).mkdir(parents=True, exist_ok=True)
    with open(osp.join(out, "summary.json"), "w") as f:
        json.dump(out_summary, f, indent=2)
    return out_summary
