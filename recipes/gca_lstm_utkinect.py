"""GCA-LSTM on UTKinect-Action3D (Liu et al., TIP 2018); needs the UTKinect files, see datasets/README.md.

    python recipes/gca_lstm_utkinect.py --help
"""

from skelgraph.training.recipes import gca_utkinect_main

if __name__ == "__main__":
    gca_utkinect_main()
