"""ARRN-LSTM on MSR Action3D, AS1/AS2/AS3 cross-subject (Zheng et al., ICME 2019, Table 5), averaged over subsets.

    python -m skelgraph.recipes.arrn_msr --help
    python -m skelgraph.recipes.arrn_msr --config recipes/configs/msr/arrn.json

Defaults (:func:`~skelgraph.recipes.defaults.arrn_msr`, chosen by inner cross-validation on AS2's training
subjects): Adam at a constant 1e-3, batch 16, joint velocities as extra channels, the gradient norm clipped at 5,
100 epochs, a 10-epoch moving average of the weights whose last epoch is tested, alpha 0.5. ``--paper-setting``
takes the paper's protocol back (coordinates only, no clipping, alpha and the best epoch on a validation split).
"""

from __future__ import annotations

from typing import Any

from skelgraph.recipes import defaults
from skelgraph.recipes.cli import Recipe, parse_config
from skelgraph.recipes.config import RecipeConfig
from skelgraph.recipes.protocols import msr_splits
from skelgraph.recipes.run import run_folds, train_arrn

RECIPE = Recipe("ARRN-LSTM on MSR Action3D, AS1-AS3 cross-subject (Zheng et al., ICME 2019, Table 5)",
                defaults.arrn_msr, defaults.resolve_arrn_small_data)


def run(config: RecipeConfig) -> dict[str, Any]:
    """Every subset of ``config.data`` (:class:`~skelgraph.recipes.protocols.MSRData`); returns the summary."""
    data = config.data
    out_root = config.run.out or "runs/arrn_msr"

    def one(subset_name: str) -> dict[str, Any]:
        train_full, test = msr_splits(data, subset_name)
        return train_arrn(config, train_full, test, f"{out_root}/{subset_name}",
                          {"name": "msr_action3d", "subset": subset_name})

    return run_folds(one, data.subset, label="MSR Action3D cross-subject", out=out_root, seed=config.run.seed)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return run(parse_config(RECIPE, argv))


if __name__ == "__main__":
    import sys

    from skelgraph.training.runs import cli_main

    sys.exit(cli_main(main))
