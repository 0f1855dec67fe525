"""GCA-LSTM on NTU RGB+D: one or two streams, direct or stepwise training (Liu et al., TIP 2018).

    python recipes/gca_lstm_ntu.py --help        # or: python -m skelgraph.recipes.gca_lstm_ntu --help
"""

import sys

from skelgraph.recipes.gca_lstm_ntu import main
from skelgraph.training.runs import cli_main

if __name__ == "__main__":
    sys.exit(cli_main(main))
