"""ARRN-LSTM on Florence 3D Actions, leave-one-actor-out (Zheng et al., ICME 2019, Table 4).

    python -m skelgraph.recipes.arrn_florence --help

Defaults: :func:`~skelgraph.recipes.defaults.arrn_florence` (the small-data defaults chosen on MSR Action3D).
"""

from __future__ import annotations

from typing import Any

from skelgraph.recipes import defaults
from skelgraph.recipes.cli import Recipe, parse_config
from skelgraph.recipes.config import RecipeConfig
from skelgraph.recipes.run import run_folds, train_arrn

RECIPE = Recipe("ARRN-LSTM on Florence 3D, leave-one-actor-out (Zheng et al., ICME 2019, Table 4)",
                defaults.arrn_florence, defaults.resolve_arrn_small_data)


def run(config: RecipeConfig) -> dict[str, Any]:
    """Every left-out actor of ``config.data`` (:class:`~skelgraph.recipes.protocols.FlorenceData`)."""
    from skelgraph.datasets.florence import Florence3D

    data = config.data
    out_root = config.run.out or "runs/arrn_florence"

    def one(fold: int) -> dict[str, Any]:
        train_full = Florence3D(data.data_root, fold=fold, split="train")
        test = Florence3D(data.data_root, fold=fold, split="test")
        return train_arrn(config, train_full, test, f"{out_root}/fold{fold}", {"name": "florence_3d", "fold": fold})

    return run_folds(one, data.folds, label="Florence 3D leave-one-actor-out", out=out_root, seed=config.run.seed)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return run(parse_config(RECIPE, argv))


if __name__ == "__main__":
    import sys

    from skelgraph.training.runs import cli_main

    sys.exit(cli_main(main))
