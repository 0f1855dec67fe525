"""ARRN-LSTM on Florence 3D Actions, leave-one-actor-out (Li et al., ICME 2019, Table 4).

    python -m skelgraph.recipes.arrn_florence --help
"""

from __future__ import annotations

from typing import Any

from skelgraph.recipes.base import (
    ARRN_SMALL_DATA_DEFAULTS,
    add_arrn_arguments,
    add_protocol_arguments,
    resolve_arrn_small_data,
    run_folds,
    train_arrn,
)
from skelgraph.training.experiment import base_parser, parse_recipe_args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from skelgraph.datasets.florence import Florence3D

    p = base_parser("ARRN-LSTM on Florence 3D, leave-one-actor-out (Li et al., ICME 2019, Table 4)",
                    epochs=100, batch_size=16, lr=1e-3)
    p.add_argument("--folds", type=int, nargs="+", default=list(range(10)), help="actors to leave out (0-9)")
    add_arrn_arguments(p, T=25, M=20)
    add_protocol_arguments(p, groups="subject")
    p.set_defaults(**ARRN_SMALL_DATA_DEFAULTS)
    args = parse_recipe_args(p, argv, resolve=resolve_arrn_small_data)
    out_root = args.out or "runs/arrn_florence"

    def run(fold: int) -> dict[str, Any]:
        train_full = Florence3D(args.data_root, fold=fold, split="train")
        test = Florence3D(args.data_root, fold=fold, split="test")
        return train_arrn(args, "florence", train_full, test, f"{out_root}/fold{fold}",
                          {"name": "florence_3d", "fold": fold}, optimizer="adam")

    return run_folds(run, args.folds, label="Florence 3D leave-one-actor-out", out=out_root, seed=args.seed)


if __name__ == "__main__":
    import sys

    from skelgraph.training.runs import cli_main

    sys.exit(cli_main(main))
