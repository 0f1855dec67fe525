"""GCA-LSTM and the ST-LSTM baselines on MSR Action3D, AS1/AS2/AS3 cross-subject, averaged over subsets: a rung of
the MSR model ladder (the GCA-LSTM paper reports no MSR figure; ST-LSTM's own paper reports 94.8 % with its trust
gate, the figure the ARRN paper's Table 5 quotes).

    python -m skelgraph.recipes.gca_lstm_msr --help

Defaults (:func:`~skelgraph.recipes.defaults.gca_lstm_msr`): SBU's small-data defaults, chosen on SBU's training
folds and not screened on MSR: Adam at a constant 1e-3, batch 8, direct training, 60 epochs and the last epoch
of a 10-epoch weight average; the slowly learning baselines ``st-lstm`` and ``global2`` train for the optimiser
steps of SBU's budgets (an MSR subset's about 114 training sequences against SBU's 226).
"""

from __future__ import annotations

from typing import Any

from skelgraph.recipes import defaults
from skelgraph.recipes.cli import Recipe, parse_config
from skelgraph.recipes.config import RecipeConfig
from skelgraph.recipes.protocols import msr_splits
from skelgraph.recipes.run import run_folds, train_gca

RECIPE = Recipe("GCA-LSTM and the ST-LSTM baselines on MSR Action3D, AS1-AS3 cross-subject", defaults.gca_lstm_msr,
                defaults.resolve_msr_gca)


def run(config: RecipeConfig) -> dict[str, Any]:
    """Every subset of ``config.data`` (:class:`~skelgraph.recipes.protocols.MSRData`); returns the summary."""
    data, model = config.data, config.model
    out_root = config.run.out or f"runs/{model.model}_msr"

    def one(subset_name: str) -> dict[str, Any]:
        train_full, test = msr_splits(data, subset_name)
        return train_gca(config, train_full, test, f"{out_root}/{subset_name}",
                         {"name": "msr_action3d", "subset": subset_name})

    return run_folds(one, data.subset, label="MSR Action3D cross-subject", out=out_root, seed=config.run.seed)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return run(parse_config(RECIPE, argv))


if __name__ == "__main__":
    import sys

    from skelgraph.training.runs import cli_main

    sys.exit(cli_main(main))
