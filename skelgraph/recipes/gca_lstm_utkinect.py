"""GCA-LSTM and the ST-LSTM baselines on UTKinect-Action3D, cross-subject or leave-one-sequence-out (Liu et al.,
TIP 2018, Table V); needs the UTKinect files (see datasets/README.md).

    python -m skelgraph.recipes.gca_lstm_utkinect --help

The paper's SGD (lr 1.5e-3, momentum 0.9) stays at chance here, as on SBU, where it hardly lowers the training
loss: Adam 1e-3 at batch 8 is the default (``--optimizer sgd --lr 1.5e-3 --batch-size 16`` gives the paper's).
The other defaults are SBU's, chosen there on training folds (:func:`~skelgraph.recipes.defaults.gca_lstm_utkinect`:
60 epochs and the last epoch of a 10-epoch weight average; the ST-LSTM baselines ``st-lstm`` and ``global2`` train
for the optimiser steps of SBU's :data:`~skelgraph.recipes.defaults.SLOW_ST_LSTM_EPOCHS` (300 and 240), with
``--trust-gate`` :data:`~skelgraph.recipes.defaults.TRUST_GATE_EPOCHS` (320), unless ``--epochs`` is given:
cross-subject, with about 100 training clips against SBU's 226, 678 (``st-lstm``), 543 (``global2``) and 724
epochs (``--trust-gate``); leave-one-out 343, 274 and 366); they were not screened on UTKinect.
``--print-config`` shows what a run will use. Leave-one-out trains one model per clip (199 folds): the folds write
nothing but one ``summary.json`` unless ``--save-fold-runs``.
"""

from __future__ import annotations

from typing import Any

from skelgraph.recipes import defaults
from skelgraph.recipes.cli import Recipe, parse_config
from skelgraph.recipes.config import RecipeConfig
from skelgraph.recipes.protocols import utkinect_folds
from skelgraph.recipes.run import run_folds, train_gca

RECIPE = Recipe("GCA-LSTM on UTKinect-Action3D (Liu et al., TIP 2018, Table V)", defaults.gca_lstm_utkinect,
                defaults.resolve_utkinect_gca)


def run(config: RecipeConfig) -> dict[str, Any]:
    """Every fold of ``config.data`` (:class:`~skelgraph.recipes.protocols.UTKinectData`)."""
    from skelgraph.datasets.utkinect import UTKinect

    data, model = config.data, config.model
    out_root = config.run.out or f"runs/{model.model}_utkinect_{data.protocol}_{model.training}"
    folds, lean = utkinect_folds(data)

    def one(fold: int) -> dict[str, Any]:
        train_full = UTKinect(data.data_root, protocol=data.protocol, fold=fold, split="train")
        test = UTKinect(data.data_root, protocol=data.protocol, fold=fold, split="test")
        return train_gca(config, train_full, test, None if lean else f"{out_root}/fold{fold}",
                         {"name": "utkinect", "protocol": data.protocol, "fold": fold}, save_checkpoints=not lean)

    return run_folds(one, folds, label=f"UTKinect {data.protocol}", out=out_root, seed=config.run.seed)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return run(parse_config(RECIPE, argv))


if __name__ == "__main__":
    import sys

    from skelgraph.training.runs import cli_main

    sys.exit(cli_main(main))
