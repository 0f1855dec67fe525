"""GCA-LSTM on NTU RGB+D: one or two streams, direct or stepwise training (Liu et al., TIP 2018).

    python recipes/gca_lstm_ntu.py --help
"""

import sys

from skelgraph.training.recipes import gca_ntu_main
from skelgraph.training.runs import cli_main

if __name__ == "__main__":
    sys.exit(cli_main(gca_ntu_main))
