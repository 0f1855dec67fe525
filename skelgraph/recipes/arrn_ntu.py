"""ARRN-LSTM on NTU RGB+D 60 / 120, CS/CV (/CSet), joint, line or two streams (Li et al., ICME 2019, Tables 1-3).

    python -m skelgraph.recipes.arrn_ntu                                   # two-stream, NTU60 cross-subject
    python -m skelgraph.recipes.arrn_ntu --benchmark xview --stream joint  # Joint-ARRN-LSTM, cross-view
    torchrun --nproc_per_node 4 recipes/arrn_ntu.py --batch-size 64

Without the full NTU set under the data root it explains where to put it and runs the whole pipeline on the five
bundled genuine samples (a demonstration, not a result). Paper setting: SGD lr 0.01, momentum 0.9, x0.1 when the
validation accuracy stops improving.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from skelgraph.recipes.base import (
    add_arrn_arguments,
    add_ntu_arguments,
    add_protocol_arguments,
    ntu_splits,
    resolve_ntu_demo,
    train_arrn,
)
from skelgraph.training.experiment import base_parser, parse_recipe_args
from skelgraph.training.seeding import seed_everything


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = base_parser("ARRN-LSTM on NTU RGB+D (Li et al., ICME 2019)", epochs=60, batch_size=32, lr=0.01)
    add_ntu_arguments(p)
    p.add_argument("--patience", type=int, default=5, help="epochs without validation gain before lr x0.1")
    add_arrn_arguments(p, T=100, M=50)
    add_protocol_arguments(p)
    # without the full set: a short demonstration unless asked otherwise (on the command line or in --config)
    args = parse_recipe_args(p, argv, resolve=partial(resolve_ntu_demo, epochs=4, batch_size=4))
    seed_everything(args.seed)
    train_full, test, full = ntu_splits(args)
    out = args.out or f"runs/arrn_{args.dataset}_{args.benchmark}_{args.stream}{'' if full else '_demo'}"
    return train_arrn(args, "ntu" if args.dataset == "ntu60" else "ntu120", train_full, test, out,
                      {"name": args.dataset, "benchmark": args.benchmark, "full": full},
                      optimizer="sgd", momentum=0.9, schedule="plateau", lr_decay=0.1, plateau_patience=args.patience)


if __name__ == "__main__":
    import sys

    from skelgraph.training.runs import cli_main

    sys.exit(cli_main(main))
