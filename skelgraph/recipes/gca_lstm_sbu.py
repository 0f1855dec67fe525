"""GCA-LSTM, ST-LSTM and ST-LSTM + Global on SBU Kinect Interaction, 5-fold cross-validation over sets (Liu et al.,
TIP 2018, Table IX).

    python -m skelgraph.recipes.gca_lstm_sbu --help

Defaults (chosen on training data, bench/results/accuracy/experiments.md): SBU in metres, both people stacked
per joint and randomly swapped, direct training with Adam at a constant 1e-3, batch 8, 60 epochs, and an
exponential moving average of the weights (10-epoch time constant) whose last epoch is tested
(``--selection inner-cv`` chooses the budget by inner cross-validation over the four training folds instead, at
five times the cost). The ST-LSTM baselines ``st-lstm`` and ``global2`` learn more slowly and train for
:data:`~skelgraph.recipes.base.SLOW_ST_LSTM_EPOCHS` (300 and 240) epochs, with ``--trust-gate``
:data:`~skelgraph.recipes.base.TRUST_GATE_EPOCHS` (320), unless ``--epochs`` is given; ``global2`` clips the
gradient norm at :data:`~skelgraph.recipes.base.GLOBAL2_GRAD_CLIP` (5) unless ``--grad-clip`` is given.
``--training stepwise`` holds out nothing either: each of its N + 1 steps trains ``--epochs / (N + 1)`` epochs
(Algorithm 1's validation-loss test comes back with ``--selection val-split``). The paper's SGD (lr 1.5e-3,
momentum 0.9) hardly moves the training loss here (fold 0: 2.08 -> 2.06 in 12 epochs at batch 16; Adam: 0.61
after 9); ``--paper-setting`` gives it back, with its x0.95 decay and the best epoch on a validation split.
"""

from __future__ import annotations

from typing import Any

from skelgraph.recipes.base import (
    GCA_MODELS,
    GCA_SMALL_DATA_DEFAULTS,
    add_gca_arguments,
    add_protocol_arguments,
    resolve_gca_small_data,
    run_folds,
    train_gca,
)
from skelgraph.training.experiment import base_parser, parse_recipe_args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from skelgraph.datasets.sbu import SBU, SBU_FOLDS

    p = base_parser("GCA-LSTM / ST-LSTM on SBU Kinect Interaction, 5-fold (Liu et al., TIP 2018, Table IX)",
                    epochs=60, batch_size=8, lr=1e-3)
    p.add_argument("--folds", type=int, nargs="+", default=list(range(len(SBU_FOLDS))), help="folds to run (0-4)")
    p.add_argument("--tiny", action="store_true", help="a few samples only (smoke test of the recipe)")
    add_gca_arguments(p, T=20, bodies="stacked")
    add_protocol_arguments(p, groups="fold")
    # Defaults chosen on training data only (bench/results/accuracy/experiments.md): Adam at a constant 1e-3 (its
    # inner-CV value beat RMSprop with the authors' schedule; the paper's SGD hardly moves the training loss),
    # person swap, direct training, the weight average's last epoch.
    p.set_defaults(swap=0.5, **GCA_SMALL_DATA_DEFAULTS)
    # the slow ST-LSTM baselines' own budgets (chosen on training data) and --paper-setting
    args = parse_recipe_args(p, argv, resolve=resolve_gca_small_data)
    out_root = args.out or f"runs/{args.model}_sbu_{args.training}"

    def run(fold: int) -> dict[str, Any]:
        train_full = SBU(args.data_root, fold=fold, split="train")
        test = SBU(args.data_root, fold=fold, split="test")
        if args.tiny:
            train_full, test = train_full[::6], test[::8]
        meta = {"name": "sbu", "fold": fold, "units": "metres"}
        return train_gca(args, train_full, test, f"{out_root}/fold{fold}", meta,
                         optimizer="sgd", momentum=0.9, schedule="exponential", lr_decay=0.95)

    return run_folds(run, args.folds, label=f"SBU 5-fold {GCA_MODELS[args.model]}", out=out_root, seed=args.seed)


if __name__ == "__main__":
    import sys

    from skelgraph.training.runs import cli_main

    sys.exit(cli_main(main))
