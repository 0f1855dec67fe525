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
with :class:`~skelgraph.recipes.protocols.FileData` as its data part): the best epoch (and ARRN-LSTM's fusion
weight) chosen on a validation split carved from the training split, the test split evaluated, and the run folder
``RUN`` holding ``model.pt`` (weights, class names, the pre-processing and the whole layout, so ``python -m
skelgraph.evaluate`` and ``python -m skelgraph.predict`` need nothing else), ``best.pt``, ``last.pt``,
``metrics.json``, ``config.json`` (replay with ``--config RUN/config.json``), the plots and the provenance.
Options depend on ``--model``: ``--model gca --help`` lists GCA-LSTM's. User errors print one line and exit with 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from skelgraph.recipes.cli import Recipe, parse_config
from skelgraph.recipes.config import ConfigError, RecipeConfig
from skelgraph.recipes.defaults import default_device
from skelgraph.recipes.protocols import FileData
from skelgraph.recipes.run import train_arrn, train_gca
from skelgraph.recipes.sections import GCA_MODELS, ARRNOptions, GCAOptions, Optimisation, Protocol, RunOptions
from skelgraph.training.runs import cli_main

#: ``--model`` choices: ARRN-LSTM and the models of the GCA recipes.
MODELS: dict[str, str] = {"arrn": "two-stream ARRN-LSTM (Li et al., ICME 2019)", **GCA_MODELS}


def defaults(model: str = "arrn") -> RecipeConfig:
    """The command's defaults for ``model``: Adam at 1e-3, 50 epochs at batch 16, T = 30 (ARRN-LSTM: M = 20 and
    the MSR Action3D preset's LSTM sizes), a progress line every 50 batches."""
    part: Any = GCAOptions(model=model, T=30) if model in GCA_MODELS else ARRNOptions(T=30, M=20, preset="msr")
    optim = Optimisation(epochs=50, batch_size=16, lr=1e-3, optimizer="adam")
    return RecipeConfig("train", FileData(), part, optim, Protocol(), RunOptions(device=default_device(),
                                                                                 log_every=50))


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
                  lambda: defaults(shown), prog="python -m skelgraph.train")


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
