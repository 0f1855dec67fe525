"""ARRN-LSTM on MSR Action3D, AS1/AS2/AS3 cross-subject (Li et al., ICME 2019, Table 5), averaged over subsets.

    python -m skelgraph.recipes.arrn_msr --help

Defaults (:data:`~skelgraph.recipes.base.ARRN_SMALL_DATA_DEFAULTS`, chosen by inner cross-validation on AS2's
training subjects): Adam at a constant 1e-3, batch 16, joint velocities as extra channels, the gradient norm
clipped at 5, 100 epochs, a 10-epoch moving average of the weights whose last epoch is tested, alpha 0.5.
``--paper-setting`` takes the paper's protocol back (coordinates only, no clipping, alpha and the best epoch on a
validation split).
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
    from skelgraph.datasets.msr import MSRAction3D

    p = base_parser("ARRN-LSTM on MSR Action3D, AS1-AS3 cross-subject (Li et al., ICME 2019, Table 5)",
                    epochs=100, batch_size=16, lr=1e-3)
    p.add_argument("--subset", nargs="+", default=["AS1", "AS2", "AS3"], choices=["AS1", "AS2", "AS3"])
    p.add_argument("--tiny", action="store_true", help="a few samples only (smoke test of the recipe)")
    add_arrn_arguments(p, T=20, M=20)
    add_protocol_arguments(p, groups="subject")
    p.set_defaults(**ARRN_SMALL_DATA_DEFAULTS)
    args = parse_recipe_args(p, argv, resolve=resolve_arrn_small_data)
    out_root = args.out or "runs/arrn_msr"

    def run(subset_name: str) -> dict[str, Any]:
        train_full = MSRAction3D(args.data_root, subset=subset_name, split="train")
        test = MSRAction3D(args.data_root, subset=subset_name, split="test")
        if args.tiny:
            train_full, test = train_full[::8], test[::12]
        return train_arrn(args, "msr", train_full, test, f"{out_root}/{subset_name}",
                          {"name": "msr_action3d", "subset": subset_name}, optimizer="adam")

    return run_folds(run, args.subset, label="MSR Action3D cross-subject", out=out_root, seed=args.seed)


if __name__ == "__main__":
    import sys

    from skelgraph.training.runs import cli_main

    sys.exit(cli_main(main))
