"""GCA-LSTM, ST-LSTM and ST-LSTM + Global on SBU Kinect Interaction, 5-fold cross-validation over sets (Liu et al.,
TIP 2018, Table IX).

    python -m skelgraph.recipes.gca_lstm_sbu --help
    python -m skelgraph.recipes.gca_lstm_sbu --config recipes/configs/sbu/gca.json

Defaults (:func:`~skelgraph.recipes.defaults.gca_lstm_sbu`, chosen on training data,
bench/results/accuracy/experiments.md): SBU in metres, both people stacked per joint and randomly swapped, direct
training with Adam at a constant 1e-3, batch 8, 60 epochs, and an exponential moving average of the weights
(10-epoch time constant) whose last epoch is tested (``--selection inner-cv`` chooses the budget by inner
cross-validation over the four training folds instead, at five times the cost). The ST-LSTM baselines ``st-lstm``
and ``global2`` learn more slowly and train for :data:`~skelgraph.recipes.defaults.SLOW_ST_LSTM_EPOCHS` (300 and
240) epochs, with ``--trust-gate`` :data:`~skelgraph.recipes.defaults.TRUST_GATE_EPOCHS` (320), unless ``--epochs``
is given; ``global2`` clips the gradient norm at :data:`~skelgraph.recipes.defaults.GLOBAL2_GRAD_CLIP` (5) unless
``--grad-clip`` is given. ``--training stepwise`` holds out nothing either: each of its N + 1 steps trains
``--epochs / (N + 1)`` epochs (Algorithm 1's validation-loss test comes back with ``--selection val-split``). The
paper's SGD (lr 1.5e-3, momentum 0.9) hardly moves the training loss here (fold 0: 2.08 -> 2.06 in 12 epochs at
batch 16; Adam: 0.61 after 9); ``--paper-setting`` gives it back, with its x0.95 decay and the best epoch on a
validation split.
"""

from __future__ import annotations

from typing import Any

from skelgraph.recipes import defaults
from skelgraph.recipes.cli import Recipe, parse_config
from skelgraph.recipes.config import RecipeConfig
from skelgraph.recipes.run import run_folds, train_gca
from skelgraph.recipes.sections import GCA_MODELS

RECIPE = Recipe("GCA-LSTM / ST-LSTM on SBU Kinect Interaction, 5-fold (Liu et al., TIP 2018, Table IX)",
                defaults.gca_lstm_sbu, defaults.resolve_gca_small_data)


def run(config: RecipeConfig) -> dict[str, Any]:
    """Every fold of ``config.data`` (:class:`~skelgraph.recipes.protocols.SBUData`)."""
    from skelgraph.datasets.sbu import SBU

    data, model = config.data, config.model
    out_root = config.run.out or f"runs/{model.model}_sbu_{model.training}"

    def one(fold: int) -> dict[str, Any]:
        train_full = SBU(data.data_root, fold=fold, split="train")
        test = SBU(data.data_root, fold=fold, split="test")
        if data.tiny:
            train_full, test = train_full[::6], test[::8]
        return train_gca(config, train_full, test, f"{out_root}/fold{fold}",
                         {"name": "sbu", "fold": fold, "units": "metres"})

    return run_folds(one, data.folds, label=f"SBU 5-fold {GCA_MODELS[model.model]}", out=out_root,
                     seed=config.run.seed)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return run(parse_config(RECIPE, argv))


if __name__ == "__main__":
    import sys

    from skelgraph.training.runs import cli_main

    sys.exit(cli_main(main))
