"""The paper recipes (``python -m skelgraph.recipes.<name>`` or ``python recipes/<name>.py``) and the public
building blocks they are made of (:mod:`skelgraph.recipes.base`; a new recipe in a few lines is shown there).

Recipes: :mod:`~skelgraph.recipes.arrn_ntu`, :mod:`~skelgraph.recipes.arrn_msr`,
:mod:`~skelgraph.recipes.arrn_florence`, :mod:`~skelgraph.recipes.arrn_utkinect`,
:mod:`~skelgraph.recipes.gca_lstm_ntu`, :mod:`~skelgraph.recipes.gca_lstm_sbu`,
:mod:`~skelgraph.recipes.gca_lstm_utkinect`; each has ``main(argv=None)``.
"""

from skelgraph.recipes.base import (
    GCA_MODELS,
    STREAM_CHOICES,
    RecipeSplits,
    add_arrn_arguments,
    add_gca_arguments,
    add_ntu_arguments,
    add_utkinect_arguments,
    build_arrn_model,
    build_gca_model,
    gca_train_config,
    ntu_full,
    ntu_splits,
    prepare_splits,
    report,
    resolve_ntu_demo,
    run_folds,
    train_arrn,
    train_gca,
    utkinect_folds,
)
from skelgraph.training.experiment import base_parser
from skelgraph.training.seeding import seed_everything

__all__ = [
    "GCA_MODELS",
    "STREAM_CHOICES",
    "RecipeSplits",
    "add_arrn_arguments",
    "add_gca_arguments",
    "add_ntu_arguments",
    "add_utkinect_arguments",
    "base_parser",
    "build_arrn_model",
    "build_gca_model",
    "gca_train_config",
    "ntu_full",
    "ntu_splits",
    "prepare_splits",
    "report",
    "resolve_ntu_demo",
    "run_folds",
    "seed_everything",
    "train_arrn",
    "train_gca",
    "utkinect_folds",
]
