"""ARRN-LSTM on UTKinect-Action3D, cross-subject or leave-one-sequence-out (needs the UTKinect files).

    python recipes/arrn_utkinect.py --help        # or: python -m skelgraph.recipes.arrn_utkinect --help
"""

import sys

from skelgraph.recipes.arrn_utkinect import main
from skelgraph.training.runs import cli_main

if __name__ == "__main__":
    sys.exit(cli_main(main))
