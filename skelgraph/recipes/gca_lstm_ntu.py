"""GCA-LSTM (one or two streams, direct or stepwise) and the ST-LSTM baselines on NTU RGB+D (Liu et al., TIP 2018,
Tables II, VII).

    python -m skelgraph.recipes.gca_lstm_ntu --help

Paper setting: SGD lr 1.5e-3, momentum 0.9, x0.95 per epoch.
"""

from __future__ import annotations

import argparse
from typing import Any

from skelgraph.recipes.base import (
    add_gca_arguments,
    add_ntu_arguments,
    add_protocol_arguments,
    ntu_full,
    ntu_splits,
    resolve_ntu_demo,
    train_gca,
)
from skelgraph.training.experiment import base_parser, parse_recipe_args
from skelgraph.training.seeding import seed_everything


def _resolve(args: argparse.Namespace) -> None:
    resolve_ntu_demo(args)
    if not ntu_full(args):
        args.training = "direct"  # stepwise training needs the validation split the samples cannot give


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = base_parser("GCA-LSTM on NTU RGB+D (Liu et al., TIP 2018, Tables II, VII)", epochs=60, batch_size=32,
                    lr=1.5e-3)
    add_ntu_arguments(p)
    add_gca_arguments(p, T=100)
    add_protocol_arguments(p)
    args = parse_recipe_args(p, argv, resolve=_resolve)
    seed_everything(args.seed)
    train_full, test, full = ntu_splits(args)
    out = args.out or f"runs/{args.model}_{args.dataset}_{args.benchmark}_{args.training}{'' if full else '_demo'}"
    return train_gca(args, train_full, test, out, {"name": args.dataset, "benchmark": args.benchmark, "full": full},
                     optimizer="sgd", momentum=0.9, schedule="exponential", lr_decay=0.95)


if __name__ == "__main__":
    import sys

    from skelgraph.training.runs import cli_main

    sys.exit(cli_main(main))
