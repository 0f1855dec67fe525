"""GCA-LSTM (one or two streams, direct or stepwise) and the ST-LSTM baselines on NTU RGB+D (Liu et al., TIP 2018,
Tables II, VII).

    python -m skelgraph.recipes.gca_lstm_ntu --help

Paper setting (:func:`~skelgraph.recipes.defaults.gca_lstm_ntu`): SGD lr 1.5e-3, momentum 0.9, x0.95 per epoch.
"""

from __future__ import annotations

from typing import Any

from skelgraph.recipes import defaults
from skelgraph.recipes.cli import Recipe, parse_config
from skelgraph.recipes.config import RecipeConfig
from skelgraph.recipes.protocols import ntu_splits
from skelgraph.recipes.run import train_gca
from skelgraph.training.seeding import seed_everything

RECIPE = Recipe("GCA-LSTM on NTU RGB+D (Liu et al., TIP 2018, Tables II, VII)", defaults.gca_lstm_ntu,
                defaults.resolve_gca_ntu)


def run(config: RecipeConfig) -> dict[str, Any]:
    """One run on ``config.data`` (:class:`~skelgraph.recipes.protocols.NTUData`)."""
    data, model = config.data, config.model
    seed_everything(config.run.seed)
    train_full, test, full = ntu_splits(data)
    out = config.run.out or (f"runs/{model.model}_{data.dataset}_{data.benchmark}_{model.training}"
                             f"{'' if full else '_demo'}")
    return train_gca(config, train_full, test, out, {"name": data.dataset, "benchmark": data.benchmark, "full": full})


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return run(parse_config(RECIPE, argv))


if __name__ == "__main__":
    import sys

    from skelgraph.training.runs import cli_main

    sys.exit(cli_main(main))
