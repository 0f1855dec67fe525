"""Run folders: one run per folder, locked while in use, resumed only with the configuration it ran with.

:class:`RunFolder` is what :func:`~skelgraph.training.experiment.run_experiment` holds for the whole run:

* **Lock.** ``<out>/.lock`` holds an exclusive ``flock`` and the PID of the process using the folder; a second
  run into the same folder is refused while the first one lives (the lock goes with the process, so a run killed
  with ``kill -9`` leaves nothing to clean up by hand).
* **No mixing.** A folder that already holds a run (``run.json``, ``last.pt``, ``log.jsonl`` or
  ``metrics.json``) is refused unless ``resume=True``. Resuming compares the stored configuration (``run.json``,
  or ``last.pt`` for older runs) with the new one and refuses any difference that changes what is trained
  (everything but :data:`RESUME_FREE`) unless ``override=True``; then the new values apply from the resumed
  epoch on, the optimiser's learning rate, momentum and weight decay and the schedule's decay included. A new
  rate applies at the schedule's phase: it takes the place of the old peak, and what the schedule did to the old
  rate so far (exponential decay, plateau reductions, the cosine's descent) applies to it too; a cosine takes more
  ``epochs`` as its new span (:meth:`~skelgraph.training.engine.Trainer.align_cosine`). ``run.json`` records
  every segment of the run with the configuration it actually trained with.
* **Before the first batch.** The device exists, optional packages asked for (``--tensorboard``) are installed,
  the folder is writable and its disk has room for the checkpoints; temporary files left by a crashed checkpoint
  write (``.*.tmp``) are removed.
* **Signals.** SIGINT / SIGTERM raise :class:`RunInterrupted` (a ``KeyboardInterrupt``) between two steps; a
  checkpoint being written is finished first (a second signal abandons it atomically, see
  :func:`~skelgraph.training.checkpoint.deferred_signals`). ``last.pt`` keeps the last finished epoch, so
  ``--resume`` continues exactly from there. Command-line tools (:func:`cli_main`) print one line and exit with
  ``128 + signal``.

Under ``torchrun`` rank 0 does the folder work and the other ranks receive its verdict.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import torch

from skelgraph.training.checkpoint import CheckpointError, load_checkpoint
from skelgraph.training.engine import TrainingDiverged, _rank_world, shutdown_distributed

try:
    import fcntl
except ImportError:  # Windows: fall back to an exclusively created lock file
    fcntl = None  # type: ignore[assignment]

RUN_FILE = "run.json"
LOCK_FILE = ".lock"
#: Files whose presence means a folder already holds a run.
RUN_MARKERS = (RUN_FILE, "last.pt", "log.jsonl", "metrics.json")
#: Training options that may change on resume: they change how a run is carried out, not what it trains.
#: ``stepwise_max_epochs`` is the per-step share of the epoch budget (the recipes derive it from ``--epochs``), so
#: more epochs may bring a larger one: the current step, or the last one when Algorithm 1 had finished, goes on.
RESUME_FREE = frozenset({"epochs", "progress", "num_workers", "tensorboard", "device", "eval_batch_size",
                         "compile", "log_every", "quiet", "checkpoint_every", "keep", "stepwise_max_epochs"})
#: Where a run folder says what it holds when ``model.pt`` / ``metrics.json`` are not those of its last epoch.
STATUS_KEY = "status"
#: Options a resumed run can never change, even with ``override``: the optimiser state in ``last.pt`` is
#: specific to them.
RESUME_FIXED = frozenset({"config.optimizer", "config.schedule", "config.stepwise", "meta.model.class"})


class RunError(RuntimeError):
    """A run cannot start: the folder is in use, holds another run, does not match on resume, is not writable,
    or the device / an optional package asked for is missing. The message is one line."""


class RunInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped a run between two steps; ``last.pt`` holds the last finished epoch."""

    def __init__(self, signum: int, message: str) -> None:
        super().__init__(message)
        self.signum = signum
        self.message = message

    def __str__(self) -> str:
        return self.message


# ---------------------------------------------------------------- checks before the first batch
def check_device(name: str) -> torch.device:
    """``torch.device(name)`` if that device can be used here, else :class:`RunError` saying why."""
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError) as err:
        raise RunError(f"--device {name!r} is not a device name ({err})") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            why = "this torch build has no CUDA support" if torch.version.cuda is None else "no CUDA device is visible"
            raise RunError(f"--device {name}: {why}; use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise RunError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) visible")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise RunError(f"--device {name}: MPS is not available here; use --device cpu")
    return device


def check_environment(config: Any) -> None:
    """The device exists and the optional packages ``config`` asks for are installed."""
    check_device(config.device)
    if getattr(config, "tensorboard", False):
        try:
            from torch.utils.tensorboard import SummaryWriter  # noqa: F401
        except ImportError as err:
            raise RunError(f"--tensorboard needs the tensorboard package (pip install tensorboard): {err}") from None


def checkpoint_bytes(model: torch.nn.Module, optimizer: str) -> int:
    """Disk a run's checkpoints need at most: ``last.pt`` (weights + optimiser slots) twice while it is
    replaced, ``best.pt`` and ``model.pt`` (weights each)."""
    weights = sum(t.numel() * t.element_size() for t in model.state_dict().values() if isinstance(t, torch.Tensor))
    slots = 2 if optimizer == "adam" else 1
    return weights * (2 * (1 + slots) + 2)


# ---------------------------------------------------------------- configuration comparison
def _plain(value: Any) -> Any:
    """JSON round trip: tuples become lists, odd values strings, as they are stored in ``run.json``."""
    return json.loads(json.dumps(value, default=str))


def run_description(config: Any, meta: dict[str, Any]) -> dict[str, Any]:
    """What a run trains: its :class:`~skelgraph.training.TrainConfig` (as a dict) and its ``meta``."""
    config = dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)
    return _plain({"config": config, "meta": meta})


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def _layouts_as_data(description: dict[str, Any]) -> dict[str, Any]:
    """``description`` with a layout stored by name (runs written before checkpoints stored layouts whole) replaced
    by the registered layout's data, so that resuming such a run compares like with like."""
    from skelgraph.skeleton import LAYOUTS

    meta = description.get("meta")
    if not isinstance(meta, dict):
        return description
    meta = dict(meta)
    for part in ("pipeline", "model"):
        holder = meta.get(part)
        if part == "model" and isinstance(holder, dict):
            holder = holder.get("kwargs")
        if isinstance(holder, dict) and isinstance(holder.get("layout"), str) and holder["layout"] in LAYOUTS:
            holder = dict(holder, layout=_plain(LAYOUTS[holder["layout"]].to_dict()))
            meta[part] = holder if part == "pipeline" else dict(meta["model"], kwargs=holder)
    return dict(description, meta=meta)


def config_changes(stored: dict[str, Any], new: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """``{"config.lr": (old, new), ...}`` for every difference that changes what is trained."""
    a, b = _flatten(_layouts_as_data(stored)), _flatten(_layouts_as_data(new))
    missing = object()
    changes = {}
    for key in sorted(set(a) | set(b)):
        if key.startswith("config.") and key.split(".", 1)[1] in RESUME_FREE:
            continue
        old, now = a.get(key, missing), b.get(key, missing)
        if old != now:
            changes[key] = (None if old is missing else old, None if now is missing else now)
    return changes


def _apply_optimizer_overrides(trainer: Any, changes: dict[str, tuple[Any, Any]]) -> None:
    """Hyper-parameters that ``last.pt``'s optimiser and scheduler state would otherwise bring back."""
    c = trainer.config
    for key, field in (("config.momentum", "momentum"), ("config.weight_decay", "weight_decay")):
        if key in changes:
            for group in trainer.optimizer.param_groups:
                if field in group:
                    group[field] = getattr(c, field)
    if "config.lr" in changes:
        # The new rate at the schedule's current phase: whatever the schedule has done to the old rate so far
        # (exponential decay, plateau reductions) it has done to the new one too. Without a schedule that is
        # simply the new rate; the cosine is re-derived below from its formula, which gives the same.
        old = float(changes["config.lr"][0])
        for group in trainer.optimizer.param_groups:
            group["lr"] = group["lr"] * c.lr / old if old > 0 else c.lr
            if "initial_lr" in group:
                group["initial_lr"] = c.lr
    sched = trainer.scheduler
    if isinstance(sched, torch.optim.lr_scheduler.CosineAnnealingLR):
        if "config.lr" in changes:
            trainer.align_cosine(force=True)  # the new rate at the cosine's current phase, not at its start
        return
    if sched is not None and "config.lr" in changes:
        if hasattr(sched, "base_lrs"):
            sched.base_lrs = [c.lr] * len(sched.base_lrs)
        sched._last_lr = [group["lr"] for group in trainer.optimizer.param_groups]  # what get_last_lr() reports
    if isinstance(sched, torch.optim.lr_scheduler.ExponentialLR) and "config.lr_decay" in changes:
        sched.gamma = c.lr_decay
    if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
        if "config.lr_decay" in changes:
            sched.factor = c.lr_decay
        if "config.plateau_patience" in changes:
            sched.patience = c.plateau_patience


def _epoch_of(log_line: str) -> float:
    """The epoch of a ``log.jsonl`` line; a line a crash cut short counts as never written."""
    try:
        return float(json.loads(log_line)["epoch"])
    except (ValueError, KeyError, TypeError):
        return float("inf")


def _shown(changes: dict[str, tuple[Any, Any]]) -> str:
    return ", ".join(f"{k.removeprefix('config.')}: {old!r} -> {new!r}" for k, (old, new) in changes.items())


# ---------------------------------------------------------------- the run folder
class RunFolder:
    """Hold a run folder for the duration of a ``with`` block (see the module docstring).

    Args:
        path: The run folder (created if missing).
        config: The run's :class:`~skelgraph.training.TrainConfig`.
        meta: The run's JSON-serialisable description (model and pipeline spec, dataset).
        resume: Continue the run the folder holds (a folder without ``last.pt`` starts fresh).
        override: On resume, accept a configuration that differs from the stored one.
        need_bytes: Free disk space the checkpoints will need (see :func:`checkpoint_bytes`).

    Raises:
        RunError: on entering, when the run cannot start (message: one line).
    """

    def __init__(self, path: str | os.PathLike, config: Any, meta: dict[str, Any], *, resume: bool = False,
                 override: bool = False, need_bytes: int = 0) -> None:
        self.path = Path(path)
        self.config, self.meta = config, meta
        self.resume, self.override, self.need_bytes = resume, override, need_bytes
        self.description = run_description(config, meta)
        self.changes: dict[str, tuple[Any, Any]] = {}
        self.segments: list[dict[str, Any]] = []
        self._lock_fd: int | None = None
        self._handlers: dict[int, Any] = {}
        self._trainer: Any = None

    # -- entering ---------------------------------------------------------------------------------------------
    def __enter__(self) -> RunFolder:
        rank, world = _rank_world()
        error = None
        try:
            check_environment(self.config)
            if rank == 0:
                self._open()
        except RunError as err:
            error = str(err)
        if world > 1:  # every rank stops, or none does
            errors: list[Any] = [None] * world
            torch.distributed.all_gather_object(errors, error)
            error = next((e for e in errors if e is not None), None)
            box = [self.changes, self.segments]
            torch.distributed.broadcast_object_list(box, src=0)
            self.changes, self.segments = box
        if error is not None:
            self._release()
            raise RunError(error)
        self._install_handlers()
        return self

    def _open(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise RunError(f"cannot create the run folder {self.path}: {err.strerror or err}") from None
        self._check_writable()
        self._acquire()
        try:
            self._remove_stale_temporaries()
            self._check_reuse()
            self._check_space()
        except BaseException:
            self._release()
            raise

    def _check_writable(self) -> None:
        try:
            fd, probe = tempfile.mkstemp(prefix=".write-test.", suffix=".tmp", dir=self.path)
            os.close(fd)
            os.unlink(probe)
        except OSError as err:
            raise RunError(f"the run folder {self.path} is not writable: {err.strerror or err}") from None

    def _check_space(self) -> None:
        free = shutil.disk_usage(self.path).free
        if self.need_bytes and free < self.need_bytes:
            raise RunError(f"only {free / 2**20:.1f} MiB free for the run folder {self.path}; its checkpoints "
                           f"need about {self.need_bytes / 2**20:.1f} MiB")

    def _acquire(self) -> None:
        lock = self.path / LOCK_FILE
        me = f"{os.getpid()} on {socket.gethostname()}"
        if fcntl is None:
            try:
                fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = lock.read_text(errors="replace").strip()
                raise RunError(f"the run folder {self.path} is in use by process {holder} (delete {lock} if no "
                               "run uses it)") from None
        else:
            while True:
                fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    holder = os.pread(fd, 256, 0).decode(errors="replace").strip() or "unknown"
                    os.close(fd)
                    raise RunError(f"the run folder {self.path} is in use by process {holder}; wait for it to "
                                   "finish or choose another --out") from None
                try:  # the previous holder may have removed the file between our open and our lock
                    same = os.stat(lock).st_ino == os.fstat(fd).st_ino
                except FileNotFoundError:
                    same = False
                if same:
                    break
                os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, me.encode(), 0)
        self._lock_fd = fd

    def _release(self) -> None:
        if self._lock_fd is None:
            return
        # Removed while still locked, so a waiting process never locks a file that is about to vanish.
        (self.path / LOCK_FILE).unlink(missing_ok=True)
        os.close(self._lock_fd)
        self._lock_fd = None

    def _remove_stale_temporaries(self) -> None:
        """Temporary files of checkpoint writes a crash interrupted (nobody else writes here: we hold the lock)."""
        for tmp in self.path.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)

    def _stored(self) -> dict[str, Any] | None:
        run_file = self.path / RUN_FILE
        if run_file.exists():
            try:
                segments = json.loads(run_file.read_text())["segments"]
                self.segments = list(segments)
                return {"config": segments[-1]["config"], "meta": segments[-1]["meta"]}
            except (ValueError, KeyError, IndexError, TypeError) as err:
                raise RunError(f"{run_file} is damaged ({err}); move the run folder aside") from None
        last = self.path / "last.pt"
        if last.exists():  # a run started before run.json existed: its checkpoint says what it trained
            try:
                ckpt = load_checkpoint(last)
            except CheckpointError as err:
                raise RunError(str(err)) from None
            return _plain({"config": ckpt.get("config", {}), "meta": ckpt.get("meta", {})})
        return None

    def _check_reuse(self) -> None:
        found = [m for m in RUN_MARKERS if (self.path / m).exists()]
        if not found:
            return
        if not self.resume:
            raise RunError(f"the run folder {self.path} already holds a run ({', '.join(found)}): pass --resume "
                           "to continue it, or choose another --out")
        stored = self._stored()
        if not (self.path / "last.pt").exists() and (self.path / "metrics.json").exists():
            raise RunError(f"the run in {self.path} finished without keeping last.pt (--keep model or none): there is "
                           "nothing to resume; start a new run in another --out")
        if stored is None or not (self.path / "last.pt").exists():
            return  # nothing to resume yet: the run starts over (its log is cleared in started())
        self.changes = config_changes(stored, self.description)
        fixed = {k: v for k, v in self.changes.items() if k in RESUME_FIXED}
        if fixed:
            raise RunError(f"cannot resume {self.path} with another {_shown(fixed)} (its optimiser state belongs "
                           "to the original); start a new run in another --out")
        if self.changes and not self.override:
            raise RunError(f"--resume of {self.path} with a different configuration ({_shown(self.changes)}); "
                           "repeat the original options, or add --override to continue with the new ones")

    # -- during the run ---------------------------------------------------------------------------------------
    def started(self, trainer: Any) -> None:
        """Call once the trainer has resumed (or not): applies accepted overrides, trims log lines of epochs
        that ``last.pt`` does not hold (a crash between the log and the checkpoint), records the segment."""
        self._trainer = trainer
        epoch = trainer.state.epoch
        if epoch and self.changes:
            _apply_optimizer_overrides(trainer, self.changes)
        if epoch == 0:
            self.segments = []
        if _rank_world()[0] != 0:
            return
        log = self.path / "log.jsonl"
        if log.exists():
            kept = [line for line in log.read_text().splitlines() if epoch and _epoch_of(line) <= epoch]
            log.write_text("".join(line + "\n" for line in kept))
        segment = dict(self.description, from_epoch=epoch, pid=os.getpid(), host=socket.gethostname(),
                       started=datetime.datetime.now().astimezone().isoformat(timespec="seconds"))
        if epoch and self.changes:
            segment["overridden"] = {k: list(v) for k, v in self.changes.items()}
        self.segments.append(segment)
        self._write_segments()
        if epoch:  # until this segment finishes, model.pt and metrics.json are an earlier segment's
            held = _metrics_epoch(self.path)
            if held is not None:
                self._mark(f"training resumed after epoch {epoch}: model.pt and metrics.json hold epoch {held} until "
                           "the run finishes")

    def _write_segments(self) -> None:
        tmp = self.path / f".{RUN_FILE}.tmp"
        tmp.write_text(json.dumps({"segments": self.segments}, indent=2, default=str) + "\n")
        os.replace(tmp, self.path / RUN_FILE)

    def _mark(self, status: str) -> None:
        """Say in ``metrics.json`` (when there is one) that it and ``model.pt`` are not the last epoch's."""
        metrics = self.path / "metrics.json"
        try:
            values = json.loads(metrics.read_text())
        except (OSError, ValueError):
            return
        if isinstance(values, dict):
            values[STATUS_KEY] = status
            tmp = self.path / ".metrics.json.tmp"
            tmp.write_text(json.dumps(values, indent=2, default=str))
            os.replace(tmp, metrics)

    def _ended(self, exc: BaseException | None) -> None:
        """Record how the segment ended in ``run.json``; after an interruption or an error, make sure ``last.pt``
        holds the last finished epoch and mark ``model.pt`` / ``metrics.json`` if they are an earlier epoch's."""
        trainer, epoch = self._trainer, getattr(getattr(self._trainer, "state", None), "epoch", 0)
        if exc is not None and trainer is not None:
            try:
                trainer.write_checkpoint()
            except Exception as err:  # the original error is what the user must see; say why last.pt lags
                print(f"could not write {self.path / 'last.pt'} after the run stopped: {err}", file=sys.stderr)
            epoch = getattr(trainer, "checkpoint_epoch", None) or 0
        if _rank_world()[0] != 0 or not self.segments or trainer is None:
            return
        if exc is None:
            self.segments[-1]["ended"] = f"finished after epoch {epoch}"
        else:
            why = f"interrupted by {signal.Signals(exc.signum).name}" if isinstance(exc, RunInterrupted) \
                else "interrupted" if isinstance(exc, KeyboardInterrupt) else f"stopped by {type(exc).__name__}"
            self.segments[-1]["ended"] = f"{why} after epoch {epoch}"
            held = _metrics_epoch(self.path)
            exported = getattr(trainer, "exported_epoch", None)
            if held is not None and held != epoch:
                model = f"model.pt holds epoch {exported}, metrics.json epoch {held}" if exported is not None \
                    else f"model.pt and metrics.json hold epoch {held}"
                self._mark(f"{why} after epoch {epoch}; {model} (an earlier segment); last.pt holds epoch {epoch}: "
                           "add --resume to continue")
        try:
            self._write_segments()
        except OSError:
            pass  # the run's own error (a full disk, say) is the one to report

    def _install_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._handlers[signum] = signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, frame: Any) -> None:
        epoch = getattr(getattr(self._trainer, "state", None), "epoch", None)
        held = f"after epoch {epoch}" if epoch else "before the first epoch finished"
        raise RunInterrupted(signum, f"interrupted by {signal.Signals(signum).name} {held}: {self.path / 'last.pt'} "
                                     "holds the last finished epoch; add --resume to continue")

    # -- leaving ----------------------------------------------------------------------------------------------
    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            self._ended(exc)
        finally:
            for signum, handler in self._handlers.items():
                signal.signal(signum, handler)
            self._handlers.clear()
            self._release()


def _metrics_epoch(folder: Path) -> int | None:
    """The epoch count in ``folder/metrics.json`` (None: no readable file)."""
    try:
        epochs = json.loads((folder / "metrics.json").read_text()).get("epochs")
    except (OSError, ValueError, AttributeError):
        return None
    return epochs if isinstance(epochs, int) else None


def run_status(checkpoint: str | os.PathLike) -> str | None:
    """The ``status`` a run folder's ``metrics.json`` carries next to ``checkpoint`` (a run folder's ``model.pt``,
    ``best.pt`` or ``last.pt``), e.g. ``"interrupted by SIGTERM after epoch 7; model.pt and metrics.json hold
    epoch 4 (an earlier segment); ..."``; None when the folder holds a finished run (or is no run folder).
    :mod:`skelgraph.evaluate` and :mod:`skelgraph.predict` print it, so an earlier segment's model is never
    scored silently."""
    try:
        values = json.loads((Path(checkpoint).parent / "metrics.json").read_text())
    except (OSError, ValueError):
        return None
    status = values.get(STATUS_KEY) if isinstance(values, dict) else None
    return f"note: {Path(checkpoint).parent}: {status}" if isinstance(status, str) else None


def say_run_status(checkpoint: str | os.PathLike) -> None:
    """Print :func:`run_status` on stderr, when there is one."""
    note = run_status(checkpoint)
    if note:
        print(note, file=sys.stderr)


# ---------------------------------------------------------------- what a run leaves
#: What each file of a run folder holds, for the summary a run ends with (:func:`run_summary`).
RUN_FILES: dict[str, str] = {
    "model.pt": "the tested model: weights, class names, pre-processing (for evaluate / predict)",
    "best.pt": "the selected epoch {best_epoch} with its run state",
    "last.pt": "resumable state after epoch {epochs}",
    "metrics.json": "test figures, per class, confusion matrix",
    "log.jsonl": "one line per epoch",
    "curves.png": "training curves",
    "confusion.png": "test confusion matrix",
    "attention.png": "joint weights on a test sample",
    "attention.gif": "the same over its frames",
}


def _size(nbytes: float) -> str:
    return f"{nbytes / 1e6:.1f} MB" if nbytes >= 1e5 else f"{nbytes / 1e3:.0f} kB"


def run_summary(out: str | os.PathLike, result: dict[str, Any]) -> str:
    """What a finished run leaves in ``out`` and how to use it: the weights files with what each holds and its
    size, the other files, and the ``evaluate`` / ``predict`` commands with the real paths (lines of text)."""
    import shlex

    out = Path(out)
    if not out.is_dir():
        return ""
    files = {p.name: p for p in sorted(out.iterdir()) if p.is_file() and not p.name.startswith(".")}
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    values = {"epochs": result.get("epochs", "?"), "best_epoch": result.get("best_epoch", "?")}
    lines = [f"run folder {out} ({_size(total)}):"]
    for name in ("model.pt", "best.pt", "last.pt"):
        if name in files:
            lines.append(f"  {name:<9} {RUN_FILES[name].format(**values)} ({_size(files[name].stat().st_size)})")
    others = [n for n in files if n not in ("model.pt", "best.pt", "last.pt")]
    if others:
        lines.append(f"  also:     {', '.join(others)}")
    model = shlex.quote(str(out / "model.pt"))
    if "model.pt" in files:
        lines.append(f"  evaluate: python -m skelgraph.evaluate --checkpoint {model}")
        lines.append(f"  predict:  python -m skelgraph.predict --checkpoint {model} FILE [FILE ...] (skeleton files, "
                     "a folder, .pkl or .npz in the run's layout)")
    if "last.pt" in files:
        lines.append("  continue: the same command with --resume (and a larger --epochs to train longer)")
    return "\n".join(lines)


# ---------------------------------------------------------------- command-line entry
class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line on stderr (exit code 2), like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def cli_main(main: Callable[[list[str] | None], Any], argv: list[str] | None = None) -> int:
    """Run a command-line ``main(argv)``; user errors (bad input files, checkpoints, run folders, options) become
    one line on stderr and exit code 2, SIGINT / SIGTERM one line and ``128 + signal``. Set
    ``SKELGRAPH_TRACEBACK=1`` to see the traceback instead. A process group the run joined under ``torchrun``
    (:func:`~skelgraph.training.engine.init_distributed`) is destroyed on the way out, whatever the outcome."""
    try:
        return _cli_main(main, argv)
    finally:
        shutdown_distributed()


def _cli_main(main: Callable[[list[str] | None], Any], argv: list[str] | None) -> int:
    try:
        result = main(argv)
    except RunInterrupted as err:
        print(err.message, file=sys.stderr)
        return 128 + err.signum
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    except (RunError, OSError, ValueError, ImportError) as err:  # OSError: also RawDataMissingError
        if os.environ.get("SKELGRAPH_TRACEBACK"):
            raise
        print(f"error: {' '.join(str(err).split()) or type(err).__name__}", file=sys.stderr)
        return 2
    except TrainingDiverged as err:  # not a usage error: the options were valid, the run went non-finite
        if os.environ.get("SKELGRAPH_TRACEBACK"):
            raise
        print(f"error: training diverged: {' '.join(str(err).split())}", file=sys.stderr)
        return 1
    return result if isinstance(result, int) else 0
