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

The run is a recipe run (:mod:`skelgraph.recipes.base`: the same building blocks as the paper recipes): the best
epoch (and ARRN-LSTM's fusion weight) chosen on a validation split carved from the training split, the test
split evaluated, and the run folder ``RUN`` holding ``model.pt`` (weights, class names, the pre-processing and
the whole layout, so ``python -m skelgraph.evaluate`` and ``python -m skelgraph.predict`` need nothing else),
``best.pt``, ``last.pt``, ``metrics.json``, the plots and the provenance. Options depend on ``--model``:
``--model gca --help`` lists GCA-LSTM's. User errors print one line and exit with 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from skelgraph.recipes.base import (
    GCA_MODELS,
    add_arrn_arguments,
    add_gca_arguments,
    add_protocol_arguments,
    train_arrn,
    train_gca,
)
from skelgraph.training.experiment import base_parser, parse_recipe_args
from skelgraph.training.runs import cli_main

#: ``--model`` choices: ARRN-LSTM and the models of the GCA recipes.
MODELS: dict[str, str] = {"arrn": "two-stream ARRN-LSTM (Li et al., ICME 2019)", **GCA_MODELS}
#: ARRN-LSTM configurations (``--preset``): LSTM sizes of the paper's settings, ``T`` and ``M`` from the options.
ARRN_PRESETS = ("msr", "florence", "ntu", "ntu120")


def _model_of(argv: list[str]) -> str:
    """The ``--model`` of the command line, else of its ``--config`` file (the options depend on it); ``arrn``
    when neither names one."""
    from skelgraph.training.experiment import load_config_file

    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--model", default=None)
    pre.add_argument("--config", default=None)
    known = pre.parse_known_args(argv)[0]
    if known.model is None and known.config is not None:
        try:
            known.model = load_config_file(known.config).get("model")
        except (OSError, ValueError):
            pass  # parse_recipe_args reports an unreadable --config file
    return str(known.model or "arrn")


def build_parser(model: str) -> argparse.ArgumentParser:
    """The command line for ``model`` (its recipe options, :func:`add_arrn_arguments` or
    :func:`add_gca_arguments`, plus the data options)."""
    p = base_parser(__doc__.split("\n\n")[0] + " Options shown for --model "
                    f"{model if model in MODELS else 'arrn'}; see --model gca --help for GCA-LSTM's.",
                    epochs=50, batch_size=16, lr=1e-3)
    p.prog = "python -m skelgraph.train"
    for action in p._actions:
        if action.dest == "data_root":  # --data names the data here
            action.help = argparse.SUPPRESS
    p.add_argument("--data", default=None,
                   help="(required) a SkeletonFolder directory, a PYSKL annotation .pkl or a CTR-GCN .npz archive")
    p.add_argument("--layout", default=None,
                   help="(required) registered layout name (coco17, openpose18, mediapipe_pose33, mediapipe_hand21, "
                        "ntu, ...) or a layout JSON file")
    p.add_argument("--train-split", default="train", help="the data's training split (e.g. xsub_train of a PYSKL "
                   "file); a validation split is carved from it")
    p.add_argument("--test-split", default="test", help="the data's test split (e.g. xsub_val of a PYSKL file)")
    p.add_argument("--json-key", default="coords",
                   help="key of the coordinates in a folder's .npz / JSON files (NW-UCLA: skeletons)")
    p.add_argument("--class-names", default=None, metavar="FILE",
                   help="a .pkl / .npz dataset: one class name per line, in label order (default: 0 .. K-1)")
    p.add_argument("--score-channel", action="store_true",
                   help="give the model each joint's confidence score as one more channel (the data must have "
                        "scores)")
    if model in GCA_MODELS:
        add_gca_arguments(p, T=30)
    else:
        add_arrn_arguments(p, T=30, M=20)
        p.add_argument("--preset", choices=ARRN_PRESETS, default="msr",
                       help="ARRN-LSTM's LSTM sizes from this paper setting (msr: 512-256-512, ntu: 512-512-512)")
    add_protocol_arguments(p)
    choice = dict(choices=list(MODELS), default=model if model in MODELS else "arrn",
                  help="; ".join(f"{k}: {v}" for k, v in MODELS.items()))
    existing = [a for a in p._actions if "--model" in a.option_strings]  # the GCA recipes' --model
    if existing:
        for key, value in choice.items():
            setattr(existing[0], key, value)  # every model, not only the GCA recipes'
    else:
        p.add_argument("--model", **choice)
    p.set_defaults(optimizer="adam", log_every=50)
    return p


def _class_names(path: str | None) -> list[str] | None:
    if path is None:
        return None
    names = [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    if not names:
        raise ValueError(f"--class-names {path}: no class name in it")
    return names


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse the command line, train, test; returns the run's metrics."""
    from skelgraph.datasets.files import dataset_spec, open_dataset
    from skelgraph.skeleton import load_layout

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_model_of(argv))
    args = parse_recipe_args(parser, argv)
    missing = [f"--{k}" for k in ("data", "layout") if getattr(args, k) is None]
    if missing:
        parser.error(f"the following arguments are required: {', '.join(missing)}")
    layout = load_layout(args.layout)
    names = _class_names(args.class_names)
    kwargs: dict[str, Any] = {"key": args.json_key}
    if names is not None:
        kwargs["class_names"] = names
    print(f"data {args.data} ({layout.name}: {layout.num_joints} joints, {layout.ndim}-D), splits "
          f"{args.train_split!r} / {args.test_split!r}")
    train = open_dataset(args.data, layout, args.train_split, **kwargs)
    test = open_dataset(args.data, layout, args.test_split, **kwargs)
    if not len(train) or not len(test):
        raise ValueError(f"{args.data}: the split {args.train_split if not len(train) else args.test_split!r} is "
                         "empty")
    if args.score_channel and getattr(train[0], "score", None) is None:
        raise ValueError(f"--score-channel: the samples of {args.data} have no confidence scores")
    print(f"{len(train)} training and {len(test)} test samples, {len(train.class_names)} classes")
    out = args.out or f"runs/{args.model}_{Path(args.data).stem}"
    meta = dataset_spec(args.data, args.train_split, args.test_split, args.json_key)
    if args.model == "arrn":
        return train_arrn(args, args.preset, train, test, out, meta, optimizer="adam")
    return train_gca(args, train, test, out, meta, optimizer="adam")


def cli(argv: list[str] | None = None) -> int:
    """The ``skelgraph-train`` entry point: :func:`main` with one-line errors."""
    return cli_main(main, argv)


if __name__ == "__main__":
    sys.exit(cli())
