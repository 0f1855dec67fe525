"""Training engine: direct and stepwise training, evaluation, checkpoints that resume exactly, DDP.

The engine only assumes the model contract of :mod:`skelgraph.nn`: ``model(data)`` returns class scores
``[B, K]`` and ``model.training_loss(data)`` the paper's objective. Models trained stepwise (GCA-LSTM
Algorithm 1) also provide ``num_iterations``, ``iteration_parameters(n)``, ``training_loss(data, iteration=n)``
and ``set_inference_iteration(n)`` (the iteration ``model(data)`` classifies from, kept in the state dict, so a
checkpoint of a run that stopped in step ``n`` classifies from ``IF(n)`` wherever it is loaded).

A model may also provide ``loss_terms(data)``: a dict whose ``"loss"`` is the training objective and whose other
(detached) entries name its parts, e.g. ARRN-LSTM's per-stream cross-entropies and fused loss; the engine then
trains on ``"loss"`` and logs every part as ``train_loss_<name>`` (training batches) and ``val_loss_<name>``
(validation), so curves can compare the same quantity on both splits.

Exact resume: the data order of epoch ``e`` is a function of ``(seed, e)`` only, and every checkpoint holds the
model, optimiser, scheduler, stepwise state and all RNG states as they were at the end of the epoch, so a run
resumed from epoch ``e`` takes the same steps as one that was never stopped.

Several processes: launch the recipe with ``torchrun``; :func:`init_distributed` sets up the process group
(NCCL on GPUs, gloo on CPUs), every rank sees ``1 / world`` of each global batch (so ``batch_size`` is the
per-rank batch), gradients are averaged by DDP, metrics are summed across ranks, and only rank 0 writes files.
"""

from __future__ import annotations

import copy
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset, Sampler
from torch_geometric.loader import DataLoader
from tqdm.auto import tqdm

from skelgraph.nn.st_lstm import flush_denormals
from skelgraph.training.checkpoint import (
    deferred_signals,
    export_model,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from skelgraph.training.metrics import ClassificationMeter
from skelgraph.training.seeding import seed_everything

#: Schedulers stepped once after every training epoch (the plateau schedule steps on validation accuracy).
_PER_EPOCH_SCHEDULES = (torch.optim.lr_scheduler.ExponentialLR, torch.optim.lr_scheduler.CosineAnnealingLR)


#: What a finished run keeps (``TrainConfig.keep``): what each choice leaves of the weights files.
KEEP_CHOICES: dict[str, str] = {
    "resume": "last.pt (resumable; --resume with more --epochs extends the run), model.pt, and best.pt when the "
              "selected epoch is not the last",
    "model": "model.pt only (the run cannot be resumed or extended)",
    "none": "no weights: metrics, logs and plots only",
}


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class TrainConfig:
    """Hyper-parameters of a run (paper defaults live in the recipes' presets).

    ``schedule``: ``"none"``; ``"plateau"`` multiplies the learning rate by ``lr_decay`` when validation
    accuracy stops improving for ``plateau_patience`` epochs (ARRN-LSTM on NTU: SGD lr 0.01, x0.1);
    ``"exponential"`` multiplies it by ``lr_decay`` every epoch (GCA-LSTM: SGD lr 1.5e-3, decay 0.95,
    momentum 0.9); ``"cosine"`` anneals it from ``lr`` to 0 along a half cosine over the run's ``epochs`` (over
    ``stepwise_max_epochs`` in each stepwise step when that is set), stepped every epoch (not in the papers); a run
    resumed with other ``epochs`` anneals over the new span from the epoch it reached (:meth:`Trainer.align_cosine`).

    ``stepwise`` trains GCA-LSTM by Algorithm 1: step ``n`` optimises the parameters of iterations ``0..n`` with the
    loss on iteration ``n`` until the validation loss has not decreased for ``stepwise_patience`` epochs, or for at
    most ``stepwise_max_epochs`` epochs (``None``: no bound per step, as in the paper; a slowly but steadily
    improving step then keeps the whole budget); ``epochs`` bounds the whole run. Without a validation set
    (``val_set=None``) there is no convergence test: every step trains exactly ``stepwise_max_epochs`` epochs (a
    fixed schedule, which must then be given), so no training data is held out. A stepwise run that ends before its
    last step classifies from the deepest step it trained (:attr:`RunState.step`), never from iterations whose
    parameters were not trained.

    ``optimizer``: ``"sgd"`` (with ``momentum``), ``"adam"``, or ``"rmsprop"`` with smoothing constant
    ``rmsprop_alpha`` (0.95: the "decay rate" of the GCA-LSTM authors' public ST-LSTM code, char-rnn style).
    ``grad_clip`` clips the gradient norm; ``grad_clamp`` clamps every gradient element to ``[-v, v]`` (the
    authors' code clamps at 5-8). ``adam_beta2`` is Adam's second-moment decay (torch's 0.999 by default): after a
    long plateau of tiny gradients a slow second moment lets the first large gradients take steps many times the
    learning rate, which a faster one (0.99) damps.

    ``ema_epochs`` > 0 keeps an exponential moving average of the weights (parameters and floating buffers) with
    a time constant of that many epochs: after optimiser step ``t`` the average moves towards the weights by
    ``1 - d_t`` with ``d_t = min(exp(-1 / (ema_epochs * batches_per_epoch)), t / (t + 1))``, i.e. a plain mean of
    every step until the window is that long. Validation, monitored sets, ``best.pt`` and the model after
    :meth:`Trainer.fit` use the averaged weights: with a constant learning rate the raw weights of neighbouring
    epochs can differ by 10 points of accuracy on small test splits, and the average is what is evaluated and
    kept. ``last.pt`` holds both, so a resumed run continues the same average.

    Checkpoints: the state after every epoch is kept in memory (on the CPU) and written to the resumable
    ``last.pt`` every ``checkpoint_every`` seconds (0: after every epoch), at the end of :meth:`Trainer.fit`, and
    when the run stops early (SIGINT / SIGTERM, a diverged loss, an error): a run that stops resumes from its last
    finished epoch, and a short run writes ``last.pt`` once. The best weights are kept in memory too; ``best.pt``
    is written with ``last.pt`` only when the selected epoch is not the last one (otherwise ``last.pt`` holds
    them). ``keep`` says what :meth:`Trainer.finish` leaves at the end of a run: ``"resume"`` (``last.pt``, to
    continue or extend the run, the lean ``model.pt``, and ``best.pt`` when it differs from the last epoch),
    ``"model"`` (``model.pt`` only) or ``"none"`` (no weights at all: metrics, logs and plots only).
    ``save_checkpoints=False`` writes no ``last.pt`` / ``best.pt`` and keeps the best weights in memory only
    (leave-one-out protocols with hundreds of folds); a run without checkpoints cannot be resumed.

    ``progress`` shows progress bars, only when the output is a terminal (or a notebook): in a log file their
    control characters are noise. When standard output is not a terminal every epoch prints one plain line
    instead (:func:`progress_line`: losses, the monitored figures, elapsed time and the time left) unless
    ``quiet``; ``log_every`` > 0 also prints a line every ``log_every`` training batches (and the epoch lines on a
    terminal too).
    """

    epochs: int = 10
    batch_size: int = 32
    eval_batch_size: int | None = None
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "none"
    lr_decay: float = 0.1
    plateau_patience: int = 5
    grad_clip: float | None = None
    grad_clamp: float | None = None
    rmsprop_alpha: float = 0.95
    adam_beta2: float = 0.999
    stepwise: bool = False
    stepwise_patience: int = 1
    stepwise_max_epochs: int | None = None
    ema_epochs: float = 0.0
    save_checkpoints: bool = True
    device: str = "cpu"
    amp: bool = False
    amp_dtype: str = "bfloat16"
    compile: bool = False
    seed: int = 0
    num_workers: int = 0
    progress: bool = True
    log_every: int = 0
    quiet: bool = False
    checkpoint_every: float = 600.0
    keep: str = "resume"
    tensorboard: bool = False

    def __post_init__(self) -> None:
        if self.optimizer not in ("sgd", "adam", "rmsprop"):
            raise ValueError(f"optimizer must be 'sgd', 'adam' or 'rmsprop', got {self.optimizer!r}")
        if self.schedule not in ("none", "plateau", "exponential", "cosine"):
            raise ValueError(f"schedule must be 'none', 'plateau', 'exponential' or 'cosine', got {self.schedule!r}")
        if self.stepwise_max_epochs is not None and self.stepwise_max_epochs < 1:
            raise ValueError(f"stepwise_max_epochs must be at least 1 (or None), got {self.stepwise_max_epochs}")
        if self.log_every < 0:
            raise ValueError(f"log_every must be >= 0, got {self.log_every}")
        if not self.checkpoint_every >= 0:
            raise ValueError(f"checkpoint_every must be >= 0 seconds (0: after every epoch), got "
                             f"{self.checkpoint_every}")
        if self.keep not in KEEP_CHOICES:
            raise ValueError(f"keep must be one of {', '.join(KEEP_CHOICES)}, got {self.keep!r}")
        if not self.ema_epochs >= 0:
            raise ValueError(f"ema_epochs must be >= 0 (0: no weight average), got {self.ema_epochs}")


def duration(seconds: float) -> str:
    """``"0:42"``, ``"12:05"``, ``"3:07:40"``: minutes and seconds, with hours when there are any."""
    seconds = max(0, round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def progress_line(record: dict[str, Any], epochs: int, elapsed: float | None = None,
                  left: float | None = None) -> str:
    """One plain line for an epoch's log record: the training loss (and its parts), the validation figures,
    monitored sets (marked: they select nothing), learning rate, stepwise step, the epoch's time, the time spent
    in this run and an estimate of the time left (``left``; None: not shown)."""
    r = dict(record)
    epoch, seconds = r.pop("epoch"), r.pop("seconds", None)
    parts = []

    def losses(prefix: str, name: str) -> str | None:
        total = r.pop(f"{prefix}_loss", None)
        terms = [f"{k[len(prefix) + 6:]} {r.pop(k):.3g}" for k in list(r) if k.startswith(f"{prefix}_loss_")]
        if total is None and not terms:
            return None
        text = f"{name} loss {total:.4g}" if total is not None else f"{name} loss"
        return text + (f" ({', '.join(terms)})" if terms else "")

    for prefix, name in (("train", "train"), ("val", "val")):
        text = losses(prefix, name)
        accuracy = [f"top-{k} {r.pop(f'{prefix}_top{k}'):.1%}" for k in (1, 5) if f"{prefix}_top{k}" in r]
        if f"{prefix}_mean_class_accuracy" in r:
            accuracy.append(f"mean-class {r.pop(f'{prefix}_mean_class_accuracy'):.1%}")
        if text or accuracy:
            parts.append(" ".join(([text] if text else [f"{name}"]) + accuracy))
    for key in [k for k in r if k.endswith("_top1") and isinstance(r[k], float)]:
        name = key[: -len("_top1")]
        parts.append(f"{name} top-1 {r.pop(key):.1%} (monitored, selects nothing)")
        r.pop(f"{name}_loss", None)
    if "lr" in r:
        parts.append(f"lr {r.pop('lr'):.3g}")
    parts += [f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in r.items()
              if isinstance(v, (int, float)) and not isinstance(v, bool)]
    times = [f"{seconds:.1f} s"] if seconds is not None else []
    times += [f"elapsed {duration(elapsed)}"] if elapsed is not None else []
    times += [f"about {duration(left)} left"] if left is not None else []
    return f"epoch {epoch}/{epochs}: " + ", ".join(parts) + (f" [{', '.join(times)}]" if times else "")


def _cpu_copy(value: Any) -> Any:
    """A deep copy with every tensor on the CPU: the state of a finished epoch, kept for a later write while
    training changes the live tensors in place."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {k: _cpu_copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cpu_copy(v) for v in value)
    return copy.deepcopy(value)


def _say(line: str) -> None:
    """Print a progress line on stdout without breaking a progress bar drawn on the terminal."""
    tqdm.write(line, file=sys.stdout)
    sys.stdout.flush()


_OWN_GROUP = False  # whether init_distributed created the default process group (and so may destroy it)


def init_distributed() -> tuple[int, int]:
    """Join the process group when launched by ``torchrun`` (``RANK`` set); returns ``(rank, world_size)``.

    A group that already exists (set up by the caller) is used as it is. A group created here is destroyed by
    :func:`shutdown_distributed`, which the recipes' command line (:func:`~skelgraph.training.runs.cli_main`)
    calls when it returns, so a torchrun job's ranks leave their collectives before the interpreter exits.
    """
    global _OWN_GROUP
    if torch.distributed.is_available() and not torch.distributed.is_initialized() and "RANK" in os.environ:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend)
        _OWN_GROUP = True
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    return _rank_world()


def shutdown_distributed() -> bool:
    """Destroy the process group :func:`init_distributed` created, if any; a group the caller created is left
    alone. Returns whether a group was destroyed. Safe to call any number of times.

    Without it a torchrun job's processes exit with the group alive: PyTorch warns that the group was not destroyed,
    and a gloo or NCCL teardown racing the interpreter's shutdown can abort a rank after its work is done.
    Everything that holds the group (a :class:`Trainer` and its DDP wrapper) should be released first.
    """
    global _OWN_GROUP
    if not _OWN_GROUP:
        return False
    _OWN_GROUP = False
    if not torch.distributed.is_initialized():
        return False
    torch.distributed.destroy_process_group()
    return True


def _rank_world() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class EpochSampler(Sampler[int]):
    """Shuffled (or ordered) indices for one rank; the permutation depends on ``(seed, epoch)`` only.

    Rank ``r`` of ``w`` takes every ``w``-th index starting at ``r``, so with per-rank batch ``b`` the ranks
    together see exactly the samples a single process sees with batch ``w * b``. Training pads the permutation
    by wrapping around so every rank gets as many samples (as ``DistributedSampler`` does); evaluation does not
    pad, so every sample is counted once.
    """

    def __init__(self, size: int, shuffle: bool, seed: int = 0, rank: int = 0, world: int = 1,
                 pad: bool = True) -> None:
        self.size, self.shuffle, self.seed, self.rank, self.world, self.pad = size, shuffle, seed, rank, world, pad
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _indices(self) -> list[int]:
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(self.size, generator=g).tolist()
        else:
            order = list(range(self.size))
        if self.pad and self.size % self.world:
            order += order[: self.world - self.size % self.world]
        return order[self.rank :: self.world]

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices())

    def __len__(self) -> int:
        return len(self._indices())


class _Objective(nn.Module):
    """Routes the training loss through ``forward`` so that DDP's gradient hooks see it."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: Any, iteration: int | None = None) -> dict[str, torch.Tensor]:
        """``{"loss": objective, part: detached value, ...}`` (only ``"loss"`` without ``loss_terms``)."""
        if iteration is None and hasattr(self.model, "loss_terms"):
            return self.model.loss_terms(batch)
        if iteration is None:
            return {"loss": self.model.training_loss(batch)}
        return {"loss": self.model.training_loss(batch, iteration=iteration)}


@dataclass
class RunState:
    """Everything that changes during a run and is saved in checkpoints.

    ``step`` is the stepwise step to train next, ``step_epochs`` the epochs spent in it, ``trained_step`` the
    deepest step trained for at least one epoch, ``best_step`` the step of the best checkpoint and
    ``stepwise_done`` whether Algorithm 1 finished its last step.
    """

    epoch: int = 0
    step: int = 0
    best_metric: float = -math.inf
    best_epoch: int = -1
    best_step: int = 0
    step_best_loss: float = math.inf
    step_bad_epochs: int = 0
    step_epochs: int = 0
    trained_step: int = 0
    stepwise_done: bool = False
    ema_steps: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


class Trainer:
    """Train and evaluate a skelgraph model on PyG datasets.

    Args:
        model: A model following the skelgraph contract.
        train_set: Training dataset of PyG ``Data`` (transforms applied by the dataset).
        val_set: Validation dataset, used for model selection, the plateau schedule and stepwise training.
        config: Hyper-parameters.
        out_dir: Run folder for ``last.pt``, ``best.pt``, ``log.jsonl`` and plots; ``None`` writes nothing.
        class_names: Names of the classes, for reports and plots.
        meta: Extra JSON-serialisable information stored in checkpoints (e.g. how to rebuild the model).
        monitor: ``{name: dataset}`` evaluated after every epoch and logged as ``<name>_top1`` / ``<name>_loss``
            (e.g. the test split, to draw its learning curve). They choose nothing: no checkpoint, schedule or
            stepwise decision reads them.
        callbacks: Functions ``f(trainer, record)`` called at the end of every epoch, after validation and
            monitoring, before the record is logged (they may add JSON-serialisable fields to it).
    """

    def __init__(self, model: nn.Module, train_set: Dataset, val_set: Dataset | None = None,
                 config: TrainConfig | None = None, out_dir: str | Path | None = None,
                 class_names: Sequence[str] | None = None, meta: dict[str, Any] | None = None,
                 monitor: dict[str, Dataset] | None = None,
                 callbacks: Sequence[Callable[[Trainer, dict[str, Any]], None]] = ()) -> None:
        self.config = config or TrainConfig()
        self.rank, self.world = _rank_world()
        self.device = torch.device(self.config.device)
        if self.device.type == "cpu":
            flush_denormals()
        if self.device.type == "cuda" and self.world > 1:
            self.device = torch.device("cuda", torch.cuda.current_device())
        self.model = model.to(self.device)
        self.train_set, self.val_set = train_set, val_set
        self.monitor = dict(monitor or {})
        self.callbacks = list(callbacks)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.class_names = list(class_names) if class_names is not None else None
        self.meta = meta or {}
        self.state = RunState()
        if self.config.stepwise and not all(hasattr(model, a) for a in ("iteration_parameters",
                                                                         "set_inference_iteration")):
            raise ValueError(f"{type(model).__name__} does not support stepwise training (it needs "
                             "iteration_parameters and set_inference_iteration)")
        if self.config.stepwise and val_set is None and self.config.stepwise_max_epochs is None:
            raise ValueError("stepwise training without a validation set moves on after a fixed number of epochs "
                             "per step: set stepwise_max_epochs (or give a val_set for Algorithm 1's test)")
        objective: nn.Module = _Objective(self.model)
        if self.config.compile:
            objective = torch.compile(objective)
        if self.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            objective = nn.parallel.DistributedDataParallel(
                objective, device_ids=ids, find_unused_parameters=self.config.stepwise)
        self.objective = objective
        self.train_sampler = EpochSampler(len(train_set), True, self.config.seed, self.rank, self.world)
        self.train_loader = self._loader(train_set, self.train_sampler, self.config.batch_size)
        self.optimizer, self.scheduler = self._build_optimizer()
        self._writer = None
        #: The best epoch's ``best.pt`` payload (weights as evaluated, on the CPU), kept in memory; None: the best
        #: epoch is on disk (``best.pt`` of an earlier segment) or no epoch has finished.
        self._best: dict[str, Any] | None = None
        self._best_written = False  # whether best.pt on disk holds self._best
        #: ``last.pt``'s payload after the last finished epoch (on the CPU), until it is written.
        self._snapshot: dict[str, Any] | None = None
        self._last_write = time.monotonic()
        #: Set by callers that export ``model.pt`` and then call :meth:`finish`, which writes the final ``last.pt``
        #: (sharing the tensors ``model.pt`` holds); :meth:`fit` then leaves the final write to it.
        self.finish_later = False
        #: The epoch whose weights :meth:`finish` exported to ``model.pt`` in this process (None: not yet).
        self.exported_epoch: int | None = None
        #: The epoch ``last.pt`` holds (written or resumed by this trainer; None: neither).
        self.checkpoint_epoch: int | None = None
        #: Mean ``loss_terms`` parts of the last training epoch, ``{"train_loss_<name>": value}``.
        self.epoch_terms: dict[str, float] = {}
        #: The weight average (``config.ema_epochs``): name -> tensor, over the model's floating state.
        self.ema: dict[str, torch.Tensor] | None = None
        if self.config.ema_epochs > 0:
            self.ema = {k: v.detach().clone() for k, v in self._float_state().items()}

    # ---------------------------------------------------------------- set-up
    def _loader(self, dataset: Dataset, sampler: Sampler, batch_size: int,
                generator: torch.Generator | None = None) -> DataLoader:
        return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=self.config.num_workers,
                          persistent_workers=self.config.num_workers > 0, generator=generator)

    def eval_loader(self, dataset: Dataset) -> DataLoader:
        sampler = EpochSampler(len(dataset), False, rank=self.rank, world=self.world, pad=False)
        # Its own generator: a loader's iterator draws a base seed, which must not come from training's stream.
        return self._loader(dataset, sampler, self.config.eval_batch_size or self.config.batch_size,
                            generator=torch.Generator().manual_seed(0))

    def _trainable(self) -> list[nn.Parameter]:
        if self.config.stepwise:
            return list(self.model.iteration_parameters(self.state.step))
        return [p for p in self.model.parameters() if p.requires_grad]

    def _build_optimizer(self) -> tuple[torch.optim.Optimizer, Any]:
        c = self.config
        params = self._trainable()
        if c.optimizer == "sgd":
            opt: torch.optim.Optimizer = torch.optim.SGD(params, lr=c.lr, momentum=c.momentum,
                                                         weight_decay=c.weight_decay)
        elif c.optimizer == "rmsprop":
            opt = torch.optim.RMSprop(params, lr=c.lr, alpha=c.rmsprop_alpha, eps=1e-8, weight_decay=c.weight_decay)
        else:
            opt = torch.optim.Adam(params, lr=c.lr, betas=(0.9, c.adam_beta2), weight_decay=c.weight_decay)
        if c.schedule == "plateau":
            sched: Any = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=c.lr_decay,
                                                                    patience=c.plateau_patience)
        elif c.schedule == "exponential":
            sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=c.lr_decay)
        elif c.schedule == "cosine":
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self._cosine_span())
        else:
            sched = None
        return opt, sched

    def _cosine_span(self) -> int:
        c = self.config
        return c.stepwise_max_epochs if c.stepwise and c.stepwise_max_epochs else c.epochs

    def align_cosine(self, force: bool = False) -> bool:
        """Make a resumed cosine schedule follow the current configuration; returns whether it changed anything.

        ``last.pt`` holds the schedule as it was built: its span (``T_max``) from the run's ``epochs`` then, its
        base rate from ``lr`` then. A run resumed with more ``--epochs`` would otherwise anneal to 0 at the old end
        and climb back (the cosine goes on past its span), one resumed with fewer would stop short of 0. The schedule
        then becomes the one the current ``epochs`` (or ``stepwise_max_epochs``) and ``lr`` define, at the epoch
        reached: ``lr (1 + cos(pi e / span)) / 2``. A run resumed with its own settings is left exactly as it was
        (``force`` re-aligns anyway, as an ``--override`` of ``lr`` needs).
        """
        sched, c = self.scheduler, self.config
        if not isinstance(sched, torch.optim.lr_scheduler.CosineAnnealingLR):
            return False
        span = self._cosine_span()
        if not force and sched.T_max == span and all(base == c.lr for base in sched.base_lrs):
            return False
        sched.T_max = span
        sched.base_lrs = [c.lr] * len(sched.base_lrs)
        reached = min(sched.last_epoch, span)
        lr = sched.eta_min + (c.lr - sched.eta_min) * (1 + math.cos(math.pi * reached / span)) / 2
        for group in self.optimizer.param_groups:
            group["lr"], group["initial_lr"] = lr, c.lr
        sched._last_lr = [lr] * len(self.optimizer.param_groups)  # what get_last_lr() reports
        return True

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # ---------------------------------------------------------------- weight average
    def _float_state(self) -> dict[str, torch.Tensor]:
        """The model's floating-point parameters and buffers (integer buffers, e.g. a GCA model's inference
        iteration, are not averaged)."""
        state = self.model.state_dict(keep_vars=True)
        return {k: v for k, v in state.items() if isinstance(v, torch.Tensor) and v.is_floating_point()}

    def _update_ema(self) -> None:
        """Move the average towards the weights after an optimiser step (``TrainConfig.ema_epochs``)."""
        if self.ema is None:
            return
        self.state.ema_steps += 1
        t = self.state.ema_steps
        decay = min(math.exp(-1.0 / (self.config.ema_epochs * max(1, len(self.train_loader)))), t / (t + 1))
        live = self._float_state()
        with torch.no_grad():
            torch._foreach_lerp_(list(self.ema.values()), [live[k].detach() for k in self.ema], 1.0 - decay)

    @contextmanager
    def averaged_weights(self) -> Iterator[None]:
        """Within the block the model holds the weight average (no-op without ``ema_epochs``); the training
        weights are put back afterwards."""
        if self.ema is None:
            yield
            return
        live = self._float_state()
        saved = {k: v.detach().clone() for k, v in live.items()}
        with torch.no_grad():
            for k, v in self.ema.items():
                live[k].copy_(v)
        try:
            yield
        finally:
            with torch.no_grad():
                for k, v in saved.items():
                    live[k].copy_(v)

    def use_averaged_weights(self) -> None:
        """Put the weight average into the model for good (the end of training; no-op without it)."""
        if self.ema is not None:
            live = self._float_state()
            with torch.no_grad():
                for k, v in self.ema.items():
                    live[k].copy_(v)

    # ---------------------------------------------------------------- checkpoints
    def checkpoint_state(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "state": asdict(self.state),
            "rng": rng_state(),
            "ema": self.ema,
            "config": asdict(self.config),
            "class_names": self.class_names,
            "meta": self.meta,
        }

    @property
    def _writes(self) -> bool:
        """Whether this process writes checkpoint files."""
        return self.config.save_checkpoints and self.out_dir is not None and self.is_main

    def _best_payload(self) -> dict[str, Any]:
        """``best.pt``'s content now: the model as evaluated (the weight average, when there is one) and the run
        state, without optimiser or RNG state."""
        state = self.checkpoint_state()
        return _cpu_copy({k: v for k, v in state.items() if k not in ("optimizer", "scheduler", "rng", "ema")})

    def _remember_epoch(self, improved: bool) -> None:
        """Keep what the files of this epoch would hold, in memory: the best weights (every process: each loads
        them at the end) and, where checkpoints are written, ``last.pt``'s payload."""
        if improved:
            with self.averaged_weights():
                self._best = self._best_payload()
            self._best_written = False
        if self._writes:
            self._snapshot = _cpu_copy(self.checkpoint_state())

    def _checkpoint_due(self) -> bool:
        return time.monotonic() - self._last_write >= self.config.checkpoint_every

    def write_checkpoint(self, model_file: str | Path | None = None) -> bool:
        """Write the last finished epoch's ``last.pt`` (and ``best.pt`` when the best epoch is an earlier one and
        not on disk yet; a ``best.pt`` left from an earlier best is removed once ``last.pt`` holds the best epoch).
        ``model_file``: the ``model.pt`` just exported next to them; tensors equal to its weights are stored there
        only (:func:`~skelgraph.training.checkpoint.save_checkpoint`'s ``shared_with``). Returns whether
        anything was written (nothing when there is no new epoch, or this process writes no checkpoints)."""
        if not self._writes or self._snapshot is None:
            return False
        last = self._snapshot
        epoch, best_epoch = last["state"]["epoch"], last["state"]["best_epoch"]
        best_file = self.out_dir / "best.pt"
        with deferred_signals():  # both files, or the signal waits
            if best_epoch != epoch and self._best is not None and (not self._best_written or model_file):
                save_checkpoint(best_file, self._best, shared_with=model_file)
                self._best_written = True
            save_checkpoint(self.out_dir / "last.pt", last, shared_with=model_file)
            if best_epoch == epoch:
                best_file.unlink(missing_ok=True)  # an earlier best: last.pt holds the best epoch now
        self._snapshot = None
        self._last_write = time.monotonic()
        self.checkpoint_epoch = epoch
        return True

    def save(self, name: str) -> None:
        """``save("last.pt")``: write the run's state now (:meth:`write_checkpoint`); ``save("best.pt")``: write
        the model as it is now as ``best.pt``."""
        if name == "last.pt":
            if self._writes:
                self._snapshot = _cpu_copy(self.checkpoint_state())
            self.write_checkpoint()
        elif self._writes:
            save_checkpoint(self.out_dir / name, self._best_payload())

    def finish(self, meta: dict[str, Any] | None = None) -> dict[str, Path]:
        """The end of a run: export the model as it is now (the tested model: best epoch, weight average, fusion
        weight) to the lean ``model.pt`` (:func:`~skelgraph.training.checkpoint.export_model`), write the final
        ``last.pt`` / ``best.pt`` sharing the tensors ``model.pt`` already holds, and keep what ``config.keep``
        asks for. Returns the weights files left in the run folder, by name. No-op (``{}``) without a run folder
        or on ranks other than 0."""
        if self.out_dir is None or not self.is_main:
            return {}
        out = self.out_dir
        keep = self.config.keep
        model_file = out / "model.pt"
        resumable = keep == "resume" and self.config.save_checkpoints
        with deferred_signals():
            if resumable and self._snapshot is None and (out / "last.pt").exists():
                # Already written (by fit, an interval, an earlier segment): read before model.pt is replaced, as it
                # may keep tensors there, and rewritten below sharing the new model.pt's.
                self._snapshot = load_checkpoint(out / "last.pt")
            if resumable and self.state.best_epoch != self.state.epoch:
                self._best, self._best_written = self._best_payload(), False  # the tested model, as model.pt
            export_model(model_file, self.model, self.meta if meta is None else meta, self.class_names)
            self.exported_epoch = self.state.epoch
            if resumable:
                self.write_checkpoint(model_file)
            if keep != "resume":
                for name in ("last.pt", "best.pt") + (("model.pt",) if keep == "none" else ()):
                    (out / name).unlink(missing_ok=True)
        return {name: out / name for name in ("model.pt", "last.pt", "best.pt") if (out / name).exists()}

    def resume(self, path: str | Path | None = None) -> bool:
        """Restore from ``path`` (default ``out_dir/last.pt``); returns whether a checkpoint was found."""
        path = Path(path) if path is not None else (self.out_dir / "last.pt" if self.out_dir else None)
        if path is None or not path.exists():
            return False
        ckpt = load_checkpoint(path, map_location=self.device)
        self.model.load_state_dict(ckpt["model"])
        self.state = RunState(**ckpt["state"])
        # The optimiser of a stepwise run covers the parameters of its current step: rebuild it first.
        self.optimizer, self.scheduler = self._build_optimizer()
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if self.scheduler is not None and ckpt["scheduler"] is not None:
            self.scheduler.load_state_dict(ckpt["scheduler"])
            self.align_cosine()
        set_rng_state(ckpt["rng"])
        if self.ema is not None:
            if ckpt.get("ema") is None:
                raise ValueError(f"{path} holds no weight average: it was trained without ema_epochs")
            self.ema = {k: v.to(self.device) for k, v in ckpt["ema"].items()}
        self._snapshot, self._best, self._best_written = None, None, False
        if self.state.epoch and self.state.best_epoch == self.state.epoch:  # last.pt holds the best epoch
            with self.averaged_weights():
                self._best = self._best_payload()
        self._last_write = time.monotonic()
        self.checkpoint_epoch = self.state.epoch
        return True

    # ---------------------------------------------------------------- loops
    def _no_bars(self) -> bool | None:
        """tqdm's ``disable``: True when bars are off, None to let tqdm switch them off on non-terminal output
        (notebooks still get theirs)."""
        return True if not (self.config.progress and self.is_main) else None

    def _autocast(self) -> Any:
        enabled = self.config.amp and self.device.type == "cuda"
        return torch.autocast(self.device.type, dtype=getattr(torch, self.config.amp_dtype), enabled=enabled)

    def train_epoch(self) -> float:
        """One epoch; returns the mean training loss (the parts of ``loss_terms`` go to :attr:`epoch_terms`)."""
        self.model.train()
        self.train_sampler.set_epoch(self.state.epoch)
        iteration = self.state.step if self.config.stepwise else None
        total = torch.zeros(2, dtype=torch.float64)
        terms: dict[str, float] = {}
        bar = tqdm(self.train_loader, desc=f"epoch {self.state.epoch + 1}", leave=False, disable=self._no_bars())
        for i, batch in enumerate(bar, 1):
            batch = batch.to(self.device)
            with self._autocast():
                out = self.objective(batch, iteration)
            loss = out["loss"]
            if not torch.isfinite(loss):
                raise TrainingDiverged(
                    f"loss is {float(loss.detach())} at epoch {self.state.epoch + 1}; stopping. The last good "
                    f"checkpoint ({self.out_dir / 'last.pt' if self.out_dir else 'none: no out_dir'}) is kept. "
                    "Lower the learning rate or enable --grad-clip.")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.config.grad_clamp:
                nn.utils.clip_grad_value_(self._trainable(), self.config.grad_clamp)
            if self.config.grad_clip:
                nn.utils.clip_grad_norm_(self._trainable(), self.config.grad_clip)
            self.optimizer.step()
            self._update_ema()
            n = int(batch.num_graphs)
            total += torch.tensor([float(loss.detach()) * n, n], dtype=torch.float64)
            for name, value in out.items():
                if name != "loss":
                    terms[name] = terms.get(name, 0.0) + float(value) * n
            bar.set_postfix(loss=f"{float(loss.detach()):.4f}")
            every, batches = self.config.log_every, len(self.train_loader)
            if every and self.is_main and (i % every == 0 or i == batches):
                _say(f"epoch {self.state.epoch + 1}/{self.config.epochs} batch {i}/{batches} "
                     f"loss {float(loss.detach()):.4f} (epoch mean {float(total[0] / total[1]):.4f})")
        names = sorted(terms)
        sums = torch.tensor([terms[k] for k in names], dtype=torch.float64)
        if self.world > 1:
            torch.distributed.all_reduce(total)
            torch.distributed.all_reduce(sums)
        count = total[1].clamp_min(1)
        self.epoch_terms = {f"train_loss_{k}": float(v / count) for k, v in zip(names, sums)}
        return float(total[0] / count)

    @torch.no_grad()
    def evaluate(self, dataset: Dataset, iteration: int | None = None, terms: bool = True) -> ClassificationMeter:
        """Scores of the whole dataset (summed across ranks). ``iteration`` picks a GCA-LSTM iteration;
        ``terms=False`` skips the ``loss_terms`` parts (their extra forward pass) where nobody reads them.

        Inert: every RNG state (torch, CUDA, numpy, Python) is saved before and restored after, so evaluating
        a monitored test set after each epoch changes nothing in the training trajectory."""
        saved = rng_state()
        try:
            return self._evaluate(dataset, iteration, terms)
        finally:
            set_rng_state(saved)

    def _evaluate(self, dataset: Dataset, iteration: int | None, terms: bool) -> ClassificationMeter:
        self.model.eval()
        num_classes = self._num_classes()
        meter = ClassificationMeter(num_classes)
        for batch in tqdm(self.eval_loader(dataset), desc="eval", leave=False, disable=self._no_bars()):
            batch = batch.to(self.device)
            with self._autocast():
                scores = self.model(batch) if iteration is None else self.model(batch, iteration=iteration)
                # The parts of the objective, for curves that compare like with like (one more forward pass).
                parts = self.model.loss_terms(batch) if terms and iteration is None \
                    and hasattr(self.model, "loss_terms") else {}
            scores = scores.float()
            meter.update(scores, batch.y, F.cross_entropy(scores, batch.y, reduction="sum"),
                         {k: float(v) for k, v in parts.items() if k != "loss"})
        meter.all_reduce()
        return meter

    def _num_classes(self) -> int:
        if self.class_names is not None:
            return len(self.class_names)
        n = getattr(self.model, "num_classes", None)
        if n is None:
            raise ValueError("pass class_names or give the model a num_classes attribute")
        return int(n)

    def _log(self, record: dict[str, Any]) -> None:
        self.state.history.append(record)
        if self.out_dir is None or not self.is_main:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with open(self.out_dir / "log.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
        if self.config.tensorboard:
            if self._writer is None:
                from torch.utils.tensorboard import SummaryWriter

                self._writer = SummaryWriter(self.out_dir / "tensorboard")
            for key, value in record.items():
                if isinstance(value, (int, float)) and key != "epoch":
                    self._writer.add_scalar(key, value, record["epoch"])

    def _advance_stepwise(self, val_loss: float | None) -> bool:
        """Algorithm 1's inner ``while``: returns True when training should stop altogether. ``val_loss=None``
        (no validation set): the fixed schedule, ``stepwise_max_epochs`` epochs per step."""
        s, c = self.state, self.config
        s.step_epochs += 1
        converged = False
        if val_loss is not None:
            if val_loss < s.step_best_loss:
                s.step_best_loss, s.step_bad_epochs = val_loss, 0
            else:
                s.step_bad_epochs += 1
            converged = s.step_bad_epochs >= c.stepwise_patience
        if not converged and (c.stepwise_max_epochs is None or s.step_epochs < c.stepwise_max_epochs):
            return False
        if s.step >= self.model.num_iterations:
            s.stepwise_done = True
            return True
        s.step += 1
        s.step_best_loss, s.step_bad_epochs, s.step_epochs = math.inf, 0, 0
        # best.pt holds the best epoch of the deepest step reached: earlier steps classify from earlier iterations.
        s.best_metric = -math.inf
        self.optimizer, self.scheduler = self._build_optimizer()
        return False

    def fit(self) -> list[dict[str, Any]]:
        """Train until ``config.epochs`` (or the end of the last stepwise step); returns the epoch history.

        ``last.pt`` is written every ``config.checkpoint_every`` seconds, at the end (unless :attr:`finish_later`:
        then :meth:`finish` writes it) and whenever the loop stops early (a signal, a diverged loss, an error), so it
        always ends up holding the last finished epoch."""
        c = self.config
        if self.state.epoch == 0 and not self.state.history:
            seed_everything(c.seed)  # training draws independent of what the set-up consumed
        if c.stepwise and self.state.stepwise_done:
            s = self.state
            if c.stepwise_max_epochs is not None and s.step_epochs < c.stepwise_max_epochs and s.epoch < c.epochs:
                s.stepwise_done = False  # resumed with a larger budget per step: the last step goes on
            elif self.is_main:
                print(f"stepwise training finished all {self.model.num_iterations + 1} steps before epoch "
                      f"{s.epoch}: nothing left to train")
        started_fit, done = time.perf_counter(), 0
        talk = self.is_main and not c.quiet and bool(c.log_every or not sys.stdout.isatty())
        epochs = tqdm(range(self.state.epoch, c.epochs), desc="training", initial=self.state.epoch, total=c.epochs,
                      disable=self._no_bars())
        try:
            for _ in epochs:
                if c.stepwise and self.state.stepwise_done:
                    break
                started = time.perf_counter()
                train_loss = self.train_epoch()
                if c.stepwise:
                    # Checkpoints written from now on classify from the step just trained (the model carries it).
                    self.state.trained_step = self.state.step
                    self.model.set_inference_iteration(self.state.step)
                record: dict[str, Any] = {"epoch": self.state.epoch + 1, "lr": self.optimizer.param_groups[0]["lr"],
                                          "train_loss": train_loss, **self.epoch_terms}
                if isinstance(self.scheduler, _PER_EPOCH_SCHEDULES):
                    self.scheduler.step()  # before a stepwise step change, which starts a fresh optimiser and schedule
                if c.stepwise:
                    record["step"] = self.state.step
                with self.averaged_weights():  # what is evaluated and kept is the weight average, when there is one
                    stop, improved = self._end_of_epoch(record)
                record["seconds"] = time.perf_counter() - started
                self.state.epoch += 1
                self._log(record)
                self._remember_epoch(improved)
                if self._checkpoint_due():
                    self.write_checkpoint()
                epochs.set_postfix(loss=f"{train_loss:.4f}", **({"val": f"{record['val_top1']:.3f}"}
                                                                  if "val_top1" in record else {}))
                done += 1
                if talk:
                    elapsed = time.perf_counter() - started_fit
                    left = None if stop else elapsed / done * (c.epochs - self.state.epoch)
                    _say(progress_line(record, c.epochs, elapsed, left))
                if stop:
                    break
        except BaseException:
            self.write_checkpoint()  # the last finished epoch, whatever stopped the loop
            raise
        finally:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        if not self.finish_later:
            self.write_checkpoint()
        if c.stepwise and self.state.stepwise_done and self.state.epoch < c.epochs and done and self.is_main:
            print(f"stepwise training finished its last step after epoch {self.state.epoch}; the remaining "
                  f"{c.epochs - self.state.epoch} epochs of the budget of {c.epochs} are not needed")
        if c.stepwise and not self.state.stepwise_done and self.is_main:
            k = self.state.trained_step
            print(f"stepwise training ended in step {k} of {self.model.num_iterations} (epoch budget of {c.epochs} "
                  f"spent): the model classifies from IF({k}); raise --epochs or set a lower "
                  "--stepwise-max-epochs to train every step")
        self.use_averaged_weights()
        return self.state.history

    def _end_of_epoch(self, record: dict[str, Any]) -> tuple[bool, bool]:
        """Validation (selection, plateau schedule, stepwise), monitored sets and callbacks after an epoch;
        returns ``(stop, improved)``."""
        c = self.config
        stop = False
        if self.val_set is not None:
            it = self.state.step if c.stepwise else None
            val = self.evaluate(self.val_set, iteration=it).compute()
            record.update({f"val_{k}": v for k, v in val.items() if k != "samples"})
            if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                self.scheduler.step(val["top1"])
            metric = val["top1"] - 1e-6 * val["loss"]  # accuracy first, loss breaks ties
            improved = metric > self.state.best_metric
            if improved:
                self.state.best_metric, self.state.best_epoch = metric, self.state.epoch + 1
                self.state.best_step = self.state.step
            if c.stepwise:
                stop = self._advance_stepwise(val["loss"])
        else:
            improved = True
            self.state.best_epoch = self.state.epoch + 1
            self.state.best_step = self.state.step
            if c.stepwise:
                stop = self._advance_stepwise(None)
        for name, dataset in self.monitor.items():  # logged only; selects nothing
            it = self.state.trained_step if c.stepwise else None
            seen = self.evaluate(dataset, iteration=it, terms=False).compute()  # only top-1 and loss logged
            record.update({f"{name}_top1": seen["top1"], f"{name}_loss": seen["loss"]})
        for callback in self.callbacks:
            callback(self, record)
        return stop, improved

    @property
    def stepwise_reached(self) -> int | None:
        """Deepest stepwise step trained (``None`` for direct training)."""
        return self.state.trained_step if self.config.stepwise else None

    def load_best(self) -> None:
        """Load the best epoch's weights (as evaluated: the weight average, when there is one): kept in memory
        since that epoch, or ``best.pt`` when a resumed run's best epoch belongs to an earlier segment. No-op when
        the best epoch is the last (the model holds it) or no epoch has finished."""
        if self._best is not None:
            self.model.load_state_dict(self._best["model"])
            return
        best = self.out_dir / "best.pt" if self.out_dir is not None else None
        if not self.config.save_checkpoints or best is None or self.state.best_epoch == self.state.epoch:
            return
        if self.world > 1:
            torch.distributed.barrier()  # rank 0 may still be writing it
        if best.exists():
            self.model.load_state_dict(load_checkpoint(best, self.device)["model"])
