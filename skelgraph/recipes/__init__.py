"""The paper recipes (``python -m skelgraph.recipes.<name>`` or ``python recipes/<name>.py``) and the typed blocks
they are made of.

A recipe is a :class:`~skelgraph.recipes.config.RecipeConfig` (frozen, checked dataclasses: ``data``, ``model``,
``optim``, ``protocol``, ``run``), a dataset's train and test splits and a run (:func:`train_arrn`,
:func:`train_gca`), repeated over folds by :func:`run_folds`. The configuration comes from Python, from a JSON /
YAML file (``recipes/configs/``: one per accuracy row; a run folder's ``config.json``) or from the command line
(:mod:`~skelgraph.recipes.cli`, generated from the fields). A recipe for data of your own::

    from skelgraph.datasets import SkeletonFolder
    from skelgraph.recipes import ARRNOptions, Optimisation, Protocol, RecipeConfig, RunOptions, train_arrn
    from skelgraph.recipes.protocols import FileData

    config = RecipeConfig("mine", data=FileData(data="my_data", layout="ntu"), model=ARRNOptions(T=30, M=20),
                          optim=Optimisation(epochs=100, batch_size=16, lr=1e-3, optimizer="adam"),
                          protocol=Protocol(), run=RunOptions())
    train = SkeletonFolder("my_data", "ntu", split="train")
    test = SkeletonFolder("my_data", "ntu", split="test")
    train_arrn(config, train, test, "runs/mine", {"name": "mine"})

Model selection never looks at a test split (``protocol.selection``): the best epoch, the ARRN fusion weight
``alpha`` and the stepwise schedule (Algorithm 1) come from a stratified validation split carved from the
training split (:func:`~skelgraph.recipes.splits.prepare_splits`; without one, stepwise training gives each step a
fixed number of epochs), or the epoch budget and ``alpha`` from inner cross-validation over the training split's
groups (:func:`~skelgraph.recipes.splits.inner_cv`), or nothing is chosen and the last epoch is tested;
``optim.ema`` makes the evaluated and kept model an exponential moving average of the weights. Every coordinate is
multiplied by ``1 / std`` of the centred training coordinates (stored in the checkpoint's pipeline, so inference
applies the same factor): in metres, classes differ by centimetres and training stalls.

Modules: :mod:`~skelgraph.recipes.config` (the configuration), :mod:`~skelgraph.recipes.files` (reading it),
:mod:`~skelgraph.recipes.sections` (the shared parts), :mod:`~skelgraph.recipes.protocols` (datasets' parts and
protocols), :mod:`~skelgraph.recipes.defaults` (every recipe's defaults), :mod:`~skelgraph.recipes.cli`,
:mod:`~skelgraph.recipes.models`, :mod:`~skelgraph.recipes.splits`, :mod:`~skelgraph.recipes.run`; recipes
:mod:`~skelgraph.recipes.arrn_ntu`, :mod:`~skelgraph.recipes.arrn_msr`, :mod:`~skelgraph.recipes.arrn_florence`,
:mod:`~skelgraph.recipes.arrn_utkinect`, :mod:`~skelgraph.recipes.gca_lstm_ntu`, :mod:`~skelgraph.recipes.gca_lstm_sbu`,
:mod:`~skelgraph.recipes.gca_lstm_utkinect`, :mod:`~skelgraph.recipes.gca_lstm_msr`, each with ``run(config)`` and
``main(argv=None)``.
"""

from skelgraph.recipes.config import ConfigError, RecipeConfig
from skelgraph.recipes.files import load_config_file
from skelgraph.recipes.models import build_arrn_model, build_gca_model
from skelgraph.recipes.run import report, run_folds, train_arrn, train_config, train_gca
from skelgraph.recipes.sections import (
    GCA_MODELS,
    STREAM_CHOICES,
    ARRNOptions,
    GCAOptions,
    Optimisation,
    Protocol,
    RunOptions,
)
from skelgraph.recipes.splits import RecipeSplits, inner_cv, prepare_splits, recipe_pipeline
from skelgraph.training.seeding import seed_everything

__all__ = [
    "GCA_MODELS",
    "STREAM_CHOICES",
    "ARRNOptions",
    "ConfigError",
    "GCAOptions",
    "Optimisation",
    "Protocol",
    "RecipeConfig",
    "RecipeSplits",
    "RunOptions",
    "build_arrn_model",
    "build_gca_model",
    "inner_cv",
    "load_config_file",
    "prepare_splits",
    "recipe_pipeline",
    "report",
    "run_folds",
    "seed_everything",
    "train_arrn",
    "train_config",
    "train_gca",
]
