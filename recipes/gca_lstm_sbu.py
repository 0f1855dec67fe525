"""GCA-LSTM, ST-LSTM and ST-LSTM + Global on SBU Kinect Interaction, 5-fold (Liu et al., TIP 2018, Table IX).

    python recipes/gca_lstm_sbu.py --help        # or: python -m skelgraph.recipes.gca_lstm_sbu --help
"""

import sys

from skelgraph.recipes.gca_lstm_sbu import main
from skelgraph.training.runs import cli_main

if __name__ == "__main__":
    sys.exit(cli_main(main))
