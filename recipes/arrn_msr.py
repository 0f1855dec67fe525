"""ARRN-LSTM on MSR Action3D, AS1/AS2/AS3 cross-subject (Zheng et al., ICME 2019, Table 5).

    python recipes/arrn_msr.py --help        # or: python -m skelgraph.recipes.arrn_msr --help
"""

import sys

from skelgraph.recipes.arrn_msr import main
from skelgraph.training.runs import cli_main

if __name__ == "__main__":
    sys.exit(cli_main(main))
