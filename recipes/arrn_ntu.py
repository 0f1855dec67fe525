"""ARRN-LSTM on NTU RGB+D 60 / 120 (Zheng et al., ICME 2019, Tables 1-3).

    python recipes/arrn_ntu.py                                   # two-stream, NTU60 cross-subject
    python recipes/arrn_ntu.py --benchmark xview --stream joint  # Joint-ARRN-LSTM, cross-view
    python recipes/arrn_ntu.py --dataset ntu120 --benchmark xset
    torchrun --nproc_per_node 4 recipes/arrn_ntu.py --batch-size 64
    python -m skelgraph.recipes.arrn_ntu --help                  # the same recipe, installed

Without the full NTU set under the data root it explains where to put it and runs the whole pipeline on the five
bundled genuine samples (a demonstration, not a result).
"""

import sys

from skelgraph.recipes.arrn_ntu import main
from skelgraph.training.runs import cli_main

if __name__ == "__main__":
    sys.exit(cli_main(main))
