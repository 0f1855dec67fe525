"""ARRN-LSTM on UTKinect-Action3D, cross-subject or leave-one-sequence-out; needs the UTKinect files (see
datasets/README.md).

    python -m skelgraph.recipes.arrn_utkinect --help

The ARRN-LSTM paper reports no UTKinect figure; the recipe uses its MSR Action3D configuration (Kinect v1, 20
joints: T = 20, M = 20, LSTM 512-256-512, Adam 1e-3; :func:`~skelgraph.recipes.defaults.arrn_utkinect`).
Leave-one-out trains one model per clip (199 folds): the folds write nothing but one ``summary.json`` unless
``--save-fold-runs``.
"""

from __future__ import annotations

from typing import Any

from skelgraph.recipes import defaults
from skelgraph.recipes.cli import Recipe, parse_config
from skelgraph.recipes.config import RecipeConfig
from skelgraph.recipes.protocols import utkinect_folds
from skelgraph.recipes.run import run_folds, train_arrn

RECIPE = Recipe("ARRN-LSTM on UTKinect-Action3D", defaults.arrn_utkinect, defaults.resolve_arrn_small_data)


def run(config: RecipeConfig) -> dict[str, Any]:
    """Every fold of ``config.data`` (:class:`~skelgraph.recipes.protocols.UTKinectData`)."""
    from skelgraph.datasets.utkinect import UTKinect

    data = config.data
    out_root = config.run.out or f"runs/arrn_utkinect_{data.protocol}"
    folds, lean = utkinect_folds(data)

    def one(fold: int) -> dict[str, Any]:
        train_full = UTKinect(data.data_root, protocol=data.protocol, fold=fold, split="train")
        test = UTKinect(data.data_root, protocol=data.protocol, fold=fold, split="test")
        return train_arrn(config, train_full, test, None if lean else f"{out_root}/fold{fold}",
                          {"name": "utkinect", "protocol": data.protocol, "fold": fold}, save_checkpoints=not lean)

    return run_folds(one, folds, label=f"UTKinect {data.protocol}", out=out_root, seed=config.run.seed)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return run(parse_config(RECIPE, argv))


if __name__ == "__main__":
    import sys

    from skelgraph.training.runs import cli_main

    sys.exit(cli_main(main))
