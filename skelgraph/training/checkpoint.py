"""Atomic checkpoints with every RNG state, so an interrupted run resumes exactly; loading never runs code.

Every file is read with ``torch.load(weights_only=True)``: only tensors and plain Python values (dicts, lists,
tuples, strings, numbers) can come out of it, so a foreign or booby-trapped ``.pt`` file is refused
(:class:`CheckpointError`) instead of executing its payload. That is why the RNG states are stored as tensors
and plain values (:func:`rng_state`) rather than the numpy / Python objects they come from.

Up to three files per run folder:

* ``model.pt``: the lean export :func:`export_model` writes for inference (weights, class names and the JSON
  spec of the model and its pre-processing), about the size of the float32 parameters;
* ``last.pt``: everything needed to resume exactly (model, optimiser, scheduler, run state, RNG states); at the
  end of a run it keeps the tensors ``model.pt`` holds bit for bit there (``save_checkpoint(shared_with=...)``),
  so the two belong together;
* ``best.pt``: the selected epoch's model and run state, without optimiser or RNG state, only when that epoch is
  not the last one (see :class:`~skelgraph.training.TrainConfig`).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import random
import signal
import stat
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from skelgraph.io._files import kind_of
from skelgraph.io.safe_pickle import NotTorchArchive, PickleRefused, scan_torch_archive, torch_refusal

#: ``format`` entry of the lean export written by :func:`export_model`.
MODEL_FORMAT = "skelgraph-model/1"


class CheckpointError(ValueError):
    """A file is not a skelgraph checkpoint, is damaged, or holds objects that only code execution could
    rebuild (refused: checkpoints are loaded with ``weights_only=True``). The message is one line."""


class CheckpointWriteError(OSError):
    """A checkpoint could not be written (a full disk, a lost folder); the previous one at that path is intact.
    The message is one line."""


#: A checkpoint's members may expand to at most this many times the file's size (plus 1 MiB) in all: torch
#: writes them uncompressed, so more is a decompression bomb.
MAX_CHECKPOINT_EXPANSION = 4


def rng_state() -> dict[str, Any]:
    """torch, CUDA, numpy and Python RNG states as tensors and plain values (loadable with ``weights_only``)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        # numpy's legacy MT19937 state: 624 uint32 words (stored as int64: torch has no uint32 arithmetic need).
        "numpy": (str(kind), torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)),
        "python": (int(version), list(internal), gauss_next),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Inverse of :func:`rng_state`."""
    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.int64).astype(np.uint32), pos, has_gauss, cached))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ---------------------------------------------------------------- signals during writes
_lock = threading.Lock()
_depth = 0
_pending: list[int] = []


def _deferring_handler(signum: int, frame: Any) -> None:
    """While a checkpoint is being written, the first SIGINT/SIGTERM waits for the write to finish; a second
    one abandons it (the temporary file is removed, the previous checkpoint stays)."""
    if _pending:
        raise KeyboardInterrupt(f"{signal.Signals(signum).name} again: checkpoint write abandoned")
    _pending.append(signum)


@contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT / SIGTERM back while the block runs (only in the main thread, where Python handles signals),
    then re-deliver a held signal to the handler that was installed before (e.g. a run folder's)."""
    global _depth
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with _lock:
        _depth += 1
        if _depth == 1:
            _pending.clear()
            previous = {s: signal.signal(s, _deferring_handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            restore = _depth == 0
        if restore:
            for s, handler in previous.items():
                signal.signal(s, handler)
            if _pending:
                signum = _pending.pop()
                handler = previous[signum]
                if callable(handler):
                    handler(signum, None)
                elif handler == signal.SIG_DFL and signum == signal.SIGINT:
                    raise KeyboardInterrupt
                elif handler == signal.SIG_DFL:
                    signal.raise_signal(signum)


def tensors_digest(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 of named tensors (names, dtypes, shapes and bytes, in name order)."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _share(state: dict[str, Any], path: Path, shared_with: Path) -> dict[str, Any]:
    """``state`` without the ``"model"`` / ``"ema"`` tensors that ``shared_with`` (a lean ``model.pt`` in the same
    folder) holds bit for bit; a ``"shared"`` entry names the file, the keys left out and their digest."""
    if shared_with.resolve().parent != path.resolve().parent:
        raise ValueError(f"{shared_with} must lie in the folder of {path} to share its tensors")
    ref = load_checkpoint(shared_with)["model"]
    state, keys = dict(state), {}
    for section in ("model", "ema"):
        part = state.get(section)
        if not isinstance(part, dict):
            continue
        same = [k for k, v in part.items() if isinstance(v, torch.Tensor) and isinstance(ref.get(k), torch.Tensor)
                and v.dtype == ref[k].dtype and v.shape == ref[k].shape and torch.equal(v.detach().cpu(), ref[k])]
        if same:
            state[section] = {k: v for k, v in part.items() if k not in same}
            keys[section] = same
    if keys:
        names = {k for section in keys.values() for k in section}
        state["shared"] = {"file": shared_with.name, "keys": keys,
                           "sha256": tensors_digest({k: ref[k] for k in names})}
    return state


def _restore_shared(ckpt: dict[str, Any], path: Path, map_location: Any) -> None:
    """Put back the tensors a checkpoint keeps in its run folder's ``model.pt`` (see :func:`save_checkpoint`)."""
    shared = ckpt.pop("shared")
    name = shared.get("file") if isinstance(shared, dict) else None
    keys = shared.get("keys") if isinstance(shared, dict) else None
    if not isinstance(name, str) or Path(name).name != name or name in ("", ".", "..") or not isinstance(keys, dict) \
            or not all(isinstance(v, list) and all(isinstance(k, str) for k in v) for v in keys.values()):
        raise CheckpointError(f"{path}: damaged 'shared' entry (expected a file name next to it and key lists)")
    source = path.parent / name
    names = {k for section in keys.values() for k in section}
    if not source.is_file():
        raise CheckpointError(f"{path} keeps {len(names)} tensors in {source}, which is missing (the two are written "
                              "together at the end of a run; keep them together)")
    ref = load_checkpoint(source, map_location)
    weights = ref.get("model") if "shared" not in ref else None
    if not isinstance(weights, dict) or not all(isinstance(weights.get(k), torch.Tensor) for k in names) \
            or tensors_digest({k: weights[k] for k in names}) != shared.get("sha256"):
        raise CheckpointError(f"{path} keeps {len(names)} tensors in {source}, which has changed since they were "
                              f"written together: {path.name} cannot be used ({name} itself is fine)")
    for section, section_keys in keys.items():
        if isinstance(ckpt.get(section), dict):
            ckpt[section] = dict(ckpt[section], **{k: weights[k] for k in section_keys})


def save_checkpoint(path: str | Path, state: dict[str, Any], shared_with: str | Path | None = None) -> None:
    """Write ``state`` to ``path`` atomically: a temporary file in the same folder, fsync, then rename.

    A crash (even ``kill -9``) during the write leaves the previous checkpoint intact; SIGINT / SIGTERM during
    the write let it finish first (:func:`deferred_signals`). Temporary files are named ``.<name>.*.tmp``.

    ``shared_with``: a lean ``model.pt`` (:func:`export_model`) in the same folder. The tensors of
    ``state["model"]`` and ``state["ema"]`` that it holds bit for bit are not written again (a finished run's
    ``last.pt`` mostly repeats ``model.pt``): :func:`load_checkpoint` reads them from there, after checking their
    digest, and refuses the file with one line if ``model.pt`` is missing or has changed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if shared_with is not None:
        state = _share(state, path, Path(shared_with))
    with deferred_signals():
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                torch.save(state, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except (OSError, RuntimeError) as err:  # torch reports a failed write (ENOSPC, EIO) as a RuntimeError
            Path(tmp).unlink(missing_ok=True)
            reason = err.strerror if isinstance(err, OSError) and err.strerror else " ".join(str(err).split())[:160]
            raise CheckpointWriteError(f"cannot write the checkpoint {path} ({reason}); the previous one, if any, "
                                       "is intact") from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a file written by :func:`save_checkpoint` or :func:`export_model` with ``weights_only=True``.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: not a checkpoint (damaged, truncated, another format) or one holding arbitrary
            Python objects: such a file is refused unopened, its code never runs.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint file {path}")
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        raise CheckpointError(f"{path}: not a checkpoint file (a regular file expected, found {kind_of(mode)})")
    _check_archive(path)
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(f"{path}: refused, not a plain skelgraph checkpoint (loading it would need "
                              f"arbitrary Python objects: {torch_refusal(err)})") from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, KeyError, AttributeError,
            TypeError, IndexError, UnicodeDecodeError, MemoryError, RecursionError, OverflowError) as err:
        raise CheckpointError(f"{path}: not a readable checkpoint ({torch_refusal(err)})") from None
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path}: not a skelgraph checkpoint (holds a {type(ckpt).__name__}, not a dict)")
    if "shared" in ckpt:
        _restore_shared(ckpt, path, map_location)
    return ckpt


def _check_archive(path: Path) -> None:
    """Refuse, before torch reads it, a checkpoint that is not a zip archive as ``torch.save`` writes it, whose
    members expand beyond :data:`MAX_CHECKPOINT_EXPANSION` times the file, or whose pickle breaks the bounded
    reader's rules (:func:`~skelgraph.io.safe_pickle.scan_torch_archive`: a key nested deep enough to crash
    CPython's hash, shared references that expand without bound, sizes the file does not hold)."""
    try:
        scan_torch_archive(path, MAX_CHECKPOINT_EXPANSION)
    except NotTorchArchive as err:
        raise CheckpointError(f"{path}: not a readable checkpoint ({err})") from None
    except PickleRefused as err:
        raise CheckpointError(f"{path}: refused, {err}") from None


def check_weights(path: str | Path, weights: Any) -> None:
    """Refuse (:class:`CheckpointError`, one line) weights that are not a dict of tensors and plain values, or
    that hold NaN or Inf, naming the first such tensor."""
    if not isinstance(weights, dict):
        raise CheckpointError(f"{path}: its weights are a {type(weights).__name__}, not a dict of tensors")
    for key, value in weights.items():
        if isinstance(value, torch.Tensor) and (value.is_floating_point() or value.is_complex()) \
                and not bool(torch.isfinite(value).all()):
            raise CheckpointError(f"{path}: refused, the weight {key} holds NaN or Inf")


def load_weights(path: str | Path, model: torch.nn.Module, weights: Any) -> None:
    """``model.load_state_dict(weights)`` after :func:`check_weights`; a mismatch is one line saying which keys
    are missing, unexpected or of another shape (torch's message stops at its first line)."""
    check_weights(path, weights)
    expected = model.state_dict()
    missing = [k for k in expected if k not in weights]
    unexpected = [k for k in weights if k not in expected]
    shapes = [f"{k} {tuple(weights[k].shape)} in the file, {tuple(v.shape)} in the model" for k, v in expected.items()
              if k in weights and isinstance(v, torch.Tensor) and isinstance(weights[k], torch.Tensor)
              and weights[k].shape != v.shape]
    problems = [f"{what}: {', '.join(keys[:3])}{f' (+{len(keys) - 3} more)' if len(keys) > 3 else ''}"
                for what, keys in (("missing", missing), ("unexpected", unexpected), ("other shapes", shapes)) if keys]
    if problems:
        raise CheckpointError(f"{path}: its weights do not fit the {type(model).__name__} its spec builds ("
                              + "; ".join(problems) + ")")
    try:
        model.load_state_dict(weights)
    except (RuntimeError, TypeError, ValueError, KeyError) as err:
        raise CheckpointError(f"{path}: its weights do not load into {type(model).__name__} "
                              f"({' '.join(str(err).split())[:200]})") from None


def export_model(path: str | Path, model: torch.nn.Module, meta: dict[str, Any],
                 class_names: list[str] | None) -> None:
    """Write the lean inference export ``model.pt``: float32 weights (floating tensors cast, each with its own
    storage so no shared buffer is saved twice), the class names and ``meta`` (the JSON spec of the model and
    its pipeline, see :mod:`skelgraph.training.registry`). No optimiser, scheduler or RNG state."""
    weights = {}
    for key, value in model.state_dict().items():
        if not isinstance(value, torch.Tensor):  # a module's extra state (plain values, e.g. GCA's iteration)
            weights[key] = value
            continue
        value = value.detach().to("cpu")
        if value.is_floating_point():
            value = value.float()
        weights[key] = value.clone().contiguous()
    save_checkpoint(path, {"format": MODEL_FORMAT, "model": weights, "meta": meta,
                           "class_names": list(class_names) if class_names is not None else None})
