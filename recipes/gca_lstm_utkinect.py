"""GCA-LSTM on UTKinect-Action3D (Liu et al., TIP 2018); needs the UTKinect files, see datasets/README.md.

    python recipes/gca_lstm_utkinect.py --help        # or: python -m skelgraph.recipes.gca_lstm_utkinect --help
"""

import sys

from skelgraph.recipes.gca_lstm_utkinect import main
from skelgraph.training.runs import cli_main

if __name__ == "__main__":
    sys.exit(cli_main(main))
