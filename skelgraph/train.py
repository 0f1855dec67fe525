"""Train a model on your own skeleton data, from the command line.

    python -m skelgraph.train --data PATH --layout NAME --model {arrn,gca,gca2,st-lstm} [--train-split S
        --test-split S] --epochs N --out RUN

``PATH`` is a :class:`~skelgraph.datasets.SkeletonFolder` directory (``labels.csv`` with a ``split`` column and
one array file per sequence: 2-D or 3-D keypoints, with or without confidence scores), a PYSKL annotation
``.pkl`` (read without running pickled code; ``--train-split xsub_train --test-split xsub_val``) or a CTR-GCN
``.npz`` archive (splits ``train`` and ``test``). ``--layout`` is a registered layout (``coco17``,
``openpose18``, ``mediapipe_pose33``, ``mediapipe_hand21``, ``ntu``, ...) or a JSON file describing your own
(:meth:`skelgraph.skeleton.Layout.to_dict`'s fields: ``name``, ``joints``, ``bones`` and optionally ``parts``,
``center``, ``root``, ``view``, ``up``, ``ndim``).

The run is a recipe run (:mod:`skelgraph.recipes`: the same typed configuration and blocks as the paper recipes,
with :class:`~skelgraph.recipes.protocols.FileData` as its data part) with the recipes' honest small-data defaults
(:func:`defaults`): Adam at a constant 1e-3, an exponential moving average of the weights (10 epochs) whose last
epoch is tested, nothing chosen on any held-out data (``--selection none``: every training sample trains;
ARRN-LSTM's fusion weight 0.5, its gradient norm clipped at 5 and joint velocities as channels; GCA-LSTM trained
directly), and an epoch budget from the training split's size (:func:`epoch_budget`) unless ``--epochs`` is given.
The test split is evaluated and chooses nothing. The run folder ``RUN`` holds ``model.pt`` (weights, class names,
the pre-processing and the whole layout, so ``python -m skelgraph.evaluate`` and ``python -m skelgraph.predict``
need nothing else), ``last.pt``, ``metrics.json``, ``config.json`` (replay with ``--config RUN/config.json``), the
plots and the provenance. Options depend on ``--model``: ``--model gca --help`` lists GCA-LSTM's. User errors print
one line and exit with 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from skelgraph.recipes.cli import Recipe, parse_config
from skelgraph.recipes.config import ConfigError, RecipeConfig
from skelgraph.recipes.defaults import (
    ARRN_EPOCHS,
    MSR_TRAIN_SEQUENCES,
    SBU_TRAIN_SEQUENCES,
    SLOW_ST_LSTM_EPOCHS,
    TRUST_GATE_EPOCHS,
    arrn_small_data,
    default_device,
    gca_small_data,
    resolve_arrn_small_data,
    resolve_gca_small_data,
    same_steps,
    small_data_protocol,
)
from skelgraph.recipes.protocols import FileData
from skelgraph.recipes.run import train_arrn, train_gca
from skelgraph.recipes.sections import GCA_MODELS, ARRNOptions, GCAOptions, RunOptions
from skelgraph.training.runs import cli_main

#: ``--model`` choices: ARRN-LSTM and the models of the GCA recipes.
MODELS: dict[str, str] = {"arrn": "two-stream ARRN-LSTM (Zheng et al., ICME 2019)", **GCA_MODELS}
#: Fewest and most epochs :func:`epoch_budget` gives ARRN-LSTM.
ARRN_EPOCH_RANGE = (30, 400)
#: GCA-LSTM's budget (also two-stream GCA-LSTM's and ST-LSTM + Global (1)'s): they converge in epochs, not steps.
GCA_EPOCHS = 60


def epoch_budget(model: ARRNOptions | GCAOptions, train_sequences: int) -> int:
    """The epochs :func:`defaults` train for on a training split of ``train_sequences`` sequences (at the default
    batch sizes, 16 for ARRN-LSTM and 8 for the GCA family), from what the recipes' screens found on training data:

    - GCA-LSTM, two-stream GCA-LSTM and ST-LSTM + Global (1): :data:`GCA_EPOCHS` (60) whatever the size. On half
      of SBU's training split GCA-LSTM's loss reached 0.01 by epoch 60 as on all of it, and its averaged
      validation accuracy was flat from epoch 40 to 100 (bench/results/accuracy/experiments.md, 2026-12-05).
    - ST-LSTM and ST-LSTM + Global (2) (with or without the trust gate): the optimiser steps of their SBU budgets
      (300, 240, 320 epochs of 226 sequences; :func:`~skelgraph.recipes.defaults.same_steps`), at least 60
      epochs: on half of SBU ST-LSTM's training loss tracked the steps, not the epochs (same entry).
    - ARRN-LSTM: the optimiser steps of its MSR Action3D budget (100 epochs of 114 sequences, about 713 steps),
      within :data:`ARRN_EPOCH_RANGE` (30 to 400 epochs). Not screened beyond MSR's size: the floor keeps a large
      set from being seen fewer than 30 times (a split of 5,000 sequences trains 30 epochs, 9,400 steps; the
      paper trains NTU RGB+D for 60 epochs with SGD); the ceiling bounds a tiny one.
    """
    if train_sequences <= 0:
        raise ValueError(f"train_sequences must be positive, got {train_sequences}")
    if isinstance(model, GCAOptions):
        if model.model not in SLOW_ST_LSTM_EPOCHS:
            return GCA_EPOCHS
        budget = TRUST_GATE_EPOCHS if model.trust_gate else SLOW_ST_LSTM_EPOCHS[model.model]
        return max(GCA_EPOCHS, same_steps(budget, train_sequences, SBU_TRAIN_SEQUENCES))
    low, high = ARRN_EPOCH_RANGE
    return min(high, max(low, same_steps(ARRN_EPOCHS, train_sequences, MSR_TRAIN_SEQUENCES)))


def defaults(model: str = "arrn") -> RecipeConfig:
    """The command's defaults for ``model``: the recipes' honest small-data defaults (ARRN-LSTM:
    :func:`~skelgraph.recipes.defaults.arrn_small_data`, velocity channels, alpha 0.5; the GCA family:
    :func:`~skelgraph.recipes.defaults.gca_small_data`, direct training), nothing chosen on held-out data,
    ``T = 30`` (ARRN-LSTM: ``M = 20`` and the MSR Action3D preset's LSTM sizes), a progress line every 50 batches.
    The epochs shown are a placeholder: :func:`run` takes :func:`epoch_budget` for the training split's size
    unless ``--epochs`` (or ``--fixed-epochs``) is given."""
    if model in GCA_MODELS:
        part: Any = GCAOptions(model=model, T=30, training="direct")
        optim, protocol = gca_small_data(), small_data_protocol(None)
    else:
        part = ARRNOptions(T=30, M=20, preset="msr")
        optim, protocol = arrn_small_data(), small_data_protocol(None, velocity=True)
    return RecipeConfig("train", FileData(), part, optim, protocol, RunOptions(device=default_device(),
                                                                                log_every=50))


def _resolve(plain: dict[str, Any], given: frozenset[str]) -> None:
    """The recipes' rules (Global (2)'s clipping, ``--paper-setting``); an ``--epochs`` given is kept as it is
    (unless a configuration file says ``auto_epochs`` itself, as ``--print-config`` prints it)."""
    if plain["model"]["model"] in GCA_MODELS:
        resolve_gca_small_data(plain, given)
    else:
        resolve_arrn_small_data(plain, given)
    if "optim.epochs" in given and "data.auto_epochs" not in given:
        plain["data"]["auto_epochs"] = False


def _model_of(argv: list[str]) -> str:
    """The ``--model`` of the command line, else of its ``--config`` file (the options depend on it); ``arrn``
    when neither names one (or the file cannot be read: parsing reports that)."""
    from skelgraph.recipes.files import load_config_file

    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--model", default=None)
    pre.add_argument("--config", default=None)
    known = pre.parse_known_args(argv)[0]
    if known.model is None and known.config is not None:
        try:
            values = load_config_file(known.config)
        except (OSError, ValueError):
            values = {}
        part = values.get("model")
        known.model = part.get("model") if isinstance(part, Mapping) else part
    return str(known.model or "arrn")


def recipe(model: str) -> Recipe:
    """The command line for ``model`` (``--help`` shows that model's options)."""
    shown = model if model in MODELS else "arrn"
    return Recipe(__doc__.split("\n\n")[0] + f" Options shown for --model {shown}; see --model gca --help for "
                  "GCA-LSTM's. Models: " + "; ".join(f"{k}: {v}" for k, v in MODELS.items()),
                  lambda: defaults(shown), _resolve, prog="python -m skelgraph.train")


def _class_names(path: str | None) -> list[str] | None:
    if path is None:
        return None
    names = [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    if not names:
        raise ValueError(f"--class-names {path}: no class name in it")
    return names


def run(config: RecipeConfig) -> dict[str, Any]:
    """Open ``config.data`` (:class:`~skelgraph.recipes.protocols.FileData`), train, test; returns the run's
    metrics."""
    from skelgraph.datasets.files import dataset_spec, open_dataset
    from skelgraph.skeleton import load_layout

    data = config.data
    missing = [f"--{k}" for k in ("data", "layout") if getattr(data, k) is None]
    if missing:
        raise ConfigError(f"the following arguments are required: {', '.join(missing)}")
    layout = load_layout(data.layout)
    names = _class_names(data.class_names)
    kwargs: dict[str, Any] = {"key": data.json_key}
    if names is not None:
        kwargs["class_names"] = names
    print(f"data {data.data} ({layout.name}: {layout.num_joints} joints, {layout.ndim}-D), splits "
          f"{data.train_split!r} / {data.test_split!r}")
    train = open_dataset(data.data, layout, data.train_split, **kwargs)
    test = open_dataset(data.data, layout, data.test_split, **kwargs)
    if not len(train) or not len(test):
        raise ValueError(f"{data.data}: the split {data.train_split if not len(train) else data.test_split!r} is "
                         "empty")
    if data.score_channel and getattr(train[0], "score", None) is None:
        raise ValueError(f"--score-channel: the samples of {data.data} have no confidence scores")
    print(f"{len(train)} training and {len(test)} test samples, {len(train.class_names)} classes")
    if data.auto_epochs:
        epochs = epoch_budget(config.model, len(train))
        # The run records the budget it took: its config.json replays exactly this run.
        config = config.replace(optim={"epochs": epochs}, data={"auto_epochs": False})
        print(f"{epochs} epochs: the budget for {len(train)} training sequences (skelgraph.train.epoch_budget; "
              "--epochs N sets your own)")
    out = config.run.out or f"runs/{config.model.model}_{Path(data.data).stem}"
    meta = dataset_spec(data.data, data.train_split, data.test_split, data.json_key)
    fit = train_arrn if isinstance(config.model, ARRNOptions) else train_gca
    return fit(config, train, test, out, meta, score=data.score_channel)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse the command line, train, test; returns the run's metrics."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = recipe(_model_of(argv))
    config = parse_config(command, argv)
    missing = [f"--{k}" for k in ("data", "layout") if getattr(config.data, k) is None]
    if missing:  # a usage error, as argparse reports one
        print(f"{command.prog}: error: the following arguments are required: {', '.join(missing)} (see --help)",
              file=sys.stderr)
        raise SystemExit(2)
    return run(config)


def cli(argv: list[str] | None = None) -> int:
    """The ``skelgraph-train`` entry point: :func:`main` with one-line errors."""
    return cli_main(main, argv)


if __name__ == "__main__":
    sys.exit(cli())
