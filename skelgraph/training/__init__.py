"""Training engine, metrics, checkpoints and plots."""

from skelgraph.training.checkpoint import CheckpointError, export_model, load_checkpoint, save_checkpoint
from skelgraph.training.engine import (
    EpochSampler,
    TrainConfig,
    Trainer,
    TrainingDiverged,
    init_distributed,
    shutdown_distributed,
)
from skelgraph.training.metrics import ClassificationMeter, fold_summary
from skelgraph.training.runs import RunError, RunFolder, RunInterrupted

__all__ = [
    "CheckpointError",
    "ClassificationMeter",
    "EpochSampler",
    "RunError",
    "RunFolder",
    "RunInterrupted",
    "TrainConfig",
    "Trainer",
    "TrainingDiverged",
    "export_model",
    "fold_summary",
    "init_distributed",
    "load_checkpoint",
    "save_checkpoint",
    "shutdown_distributed",
]
