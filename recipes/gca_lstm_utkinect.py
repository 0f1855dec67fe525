"""GCA-LSTM on UTKinect-Action3D (Liu et al., TIP 2018); needs the UTKinect files, see datasets/README.md.

    python recipes/gca_lstm_utkinect.py --help
"""

import sys

from skelgraph.training.recipes import gca_utkinect_main
from skelgraph.training.runs import cli_main

if __name__ == "__main__":
    sys.exit(cli_main(gca_utkinect_main))
