"""GCA-LSTM and the ST-LSTM baselines on MSR Action3D (the ladder of issue 35; bundled data).

    python recipes/gca_lstm_msr.py --help        # or: python -m skelgraph.recipes.gca_lstm_msr --help
"""

import sys

from skelgraph.recipes.gca_lstm_msr import main
from skelgraph.training.runs import cli_main

if __name__ == "__main__":
    sys.exit(cli_main(main))
