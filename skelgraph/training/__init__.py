"""Training engine, metrics, checkpoints and plots."""

from skelgraph.training.checkpoint import load_checkpoint, save_checkpoint
from skelgraph.training.engine import EpochSampler, TrainConfig, Trainer, TrainingDiverged, init_distributed
from skelgraph.training.metrics import ClassificationMeter, fold_summary

__all__ = [
    "ClassificationMeter",
    "EpochSampler",
    "TrainConfig",
    "Trainer",
    "TrainingDiverged",
    "fold_summary",
    "init_distributed",
    "load_checkpoint",
    "save_checkpoint",
]
