"""ARRN-LSTM on Florence 3D Actions, leave-one-actor-out (Zheng et al., ICME 2019, Table 4).

    python recipes/arrn_florence.py --help        # or: python -m skelgraph.recipes.arrn_florence --help
"""

import sys

from skelgraph.recipes.arrn_florence import main
from skelgraph.training.runs import cli_main

if __name__ == "__main__":
    sys.exit(cli_main(main))
