"""ARRN-LSTM on UTKinect-Action3D, cross-subject or leave-one-sequence-out; needs the UTKinect files (see
datasets/README.md).

    python -m skelgraph.recipes.arrn_utkinect --help

The ARRN-LSTM paper reports no UTKinect figure; the recipe uses its MSR Action3D configuration (Kinect v1, 20
joints: T = 20, M = 20, LSTM 512-256-512, Adam 1e-3). Leave-one-out trains one model per clip (199 folds): the
folds write nothing but one ``summary.json`` unless ``--save-fold-runs``.
"""

from __future__ import annotations

from typing import Any

from skelgraph.recipes.base import (
    ARRN_SMALL_DATA_DEFAULTS,
    add_arrn_arguments,
    add_protocol_arguments,
    add_utkinect_arguments,
    resolve_arrn_small_data,
    run_folds,
    train_arrn,
    utkinect_folds,
)
from skelgraph.training.experiment import base_parser, parse_recipe_args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from skelgraph.datasets.utkinect import UTKinect

    p = base_parser("ARRN-LSTM on UTKinect-Action3D", epochs=100, batch_size=16, lr=1e-3)
    add_utkinect_arguments(p)
    add_arrn_arguments(p, T=20, M=20)
    add_protocol_arguments(p, groups="subject")
    p.set_defaults(**ARRN_SMALL_DATA_DEFAULTS)
    args = parse_recipe_args(p, argv, resolve=resolve_arrn_small_data)
    out_root = args.out or f"runs/arrn_utkinect_{args.protocol}"
    folds, lean = utkinect_folds(args)

    def run(fold: int) -> dict[str, Any]:
        train_full = UTKinect(args.data_root, protocol=args.protocol, fold=fold, split="train")
        test = UTKinect(args.data_root, protocol=args.protocol, fold=fold, split="test")
        return train_arrn(args, "msr", train_full, test, None if lean else f"{out_root}/fold{fold}",
                          {"name": "utkinect", "protocol": args.protocol, "fold": fold}, save_checkpoints=not lean,
                          optimizer="adam")

    return run_folds(run, folds, label=f"UTKinect {args.protocol}", out=out_root, seed=args.seed)


if __name__ == "__main__":
    import sys

    from skelgraph.training.runs import cli_main

    sys.exit(cli_main(main))
