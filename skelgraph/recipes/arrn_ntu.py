"""ARRN-LSTM on NTU RGB+D 60 / 120, CS/CV (/CSet), joint, line or two streams (Zheng et al., ICME 2019, Tables 1-3).

    python -m skelgraph.recipes.arrn_ntu                                   # two-stream, NTU60 cross-subject
    python -m skelgraph.recipes.arrn_ntu --benchmark xview --stream joint  # Joint-ARRN-LSTM, cross-view
    torchrun --nproc_per_node 4 recipes/arrn_ntu.py --batch-size 64

Without the full NTU set under the data root it explains where to put it and runs the whole pipeline on the five
bundled genuine samples (a demonstration, not a result). Paper setting (:func:`~skelgraph.recipes.defaults.arrn_ntu`):
SGD lr 0.01, momentum 0.9, x0.1 when the validation accuracy stops improving.
"""

from __future__ import annotations

from typing import Any

from skelgraph.recipes import defaults
from skelgraph.recipes.cli import Recipe, parse_config
from skelgraph.recipes.config import RecipeConfig
from skelgraph.recipes.protocols import ntu_splits
from skelgraph.recipes.run import train_arrn
from skelgraph.training.seeding import seed_everything

RECIPE = Recipe("ARRN-LSTM on NTU RGB+D (Zheng et al., ICME 2019)", defaults.arrn_ntu, defaults.resolve_arrn_ntu)


def run(config: RecipeConfig) -> dict[str, Any]:
    """One run on ``config.data`` (:class:`~skelgraph.recipes.protocols.NTUData`)."""
    data = config.data
    seed_everything(config.run.seed)
    train_full, test, full = ntu_splits(data)
    out = config.run.out or f"runs/arrn_{data.dataset}_{data.benchmark}_{config.model.stream}{'' if full else '_demo'}"
    return train_arrn(config, train_full, test, out, {"name": data.dataset, "benchmark": data.benchmark, "full": full})


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return run(parse_config(RECIPE, argv))


if __name__ == "__main__":
    import sys

    from skelgraph.training.runs import cli_main

    sys.exit(cli_main(main))
