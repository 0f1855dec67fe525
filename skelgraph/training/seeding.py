"""One call that makes a run repeatable: every random generator a run draws from, seeded from one integer.

A recipe calls :func:`seed_everything` first, before it splits a dataset, builds a model or draws anything
else, and :class:`~skelgraph.training.engine.Trainer` calls it again when a fresh run starts training, so the
training draws (data order, frame sampling, augmentation, dropout) do not depend on how many numbers the set-up
happened to consume. Two runs of one command with one seed are then bit-identical on CPU.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and every CUDA device).

    Also sets ``PYTHONHASHSEED`` for worker processes started afterwards. Data order in the training engine is a
    function of ``(seed, epoch)`` alone (:class:`~skelgraph.training.engine.EpochSampler`), and data-loader
    workers derive their seeds from torch's generator, so nothing else needs seeding.

    GPU kernels may still be non-deterministic (atomic adds in scatter and index_add); on CUDA, call
    ``torch.use_deterministic_algorithms(True)`` as well when bit-identical GPU runs matter more than speed.
    """
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    os.environ["PYTHONHASHSEED"] = str(seed)
