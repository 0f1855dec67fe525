"""GCA-LSTM, ST-LSTM and ST-LSTM + Global on SBU Kinect Interaction, 5-fold (Liu et al., TIP 2018, Table IX).

    python recipes/gca_lstm_sbu.py --help
"""

import sys

from skelgraph.training.recipes import gca_sbu_main
from skelgraph.training.runs import cli_main

if __name__ == "__main__":
    sys.exit(cli_main(gca_sbu_main))
