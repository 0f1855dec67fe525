"""What ran, where, and with what: the provenance record of a run folder.

Every run folder gets two files next to ``metrics.json``:

- ``config.json``: the resolved recipe arguments (paper defaults, a ``--config`` file and the command line
  merged). ``--config RUN/config.json`` replays the run; see
  :func:`skelgraph.recipes.cli.parse_config`.
- ``provenance.json``: the command line, the resolved configuration (recipe arguments and the engine's
  :class:`~skelgraph.training.engine.TrainConfig`), package versions, the git revision of a checkout (and
  whether it had uncommitted changes), the device, the seed, the host and the start time. A resumed run keeps
  the first record and appends one per resumption under ``"resumed"``.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch_geometric

import skelgraph
from skelgraph.datasets.roots import checkout_root

CONFIG_FILE = "config.json"
PROVENANCE_FILE = "provenance.json"
#: Environment variables that change what a run computes or where it reads from.
RECORDED_ENV = ("SKELGRAPH_DATA", "OMP_NUM_THREADS", "CUDA_VISIBLE_DEVICES", "WORLD_SIZE")
#: At most this many changed paths are listed for a dirty checkout.
MAX_CHANGED = 50


def package_versions() -> dict[str, str | None]:
    """Versions of Python and of the packages a result depends on (``None``: not installed)."""
    try:
        scatter: str | None = metadata.version("torch-scatter")  # not imported: importing it can be slow
    except metadata.PackageNotFoundError:
        scatter = None
    return {
        "python": platform.python_version(),
        "skelgraph": skelgraph.__version__,
        "torch": torch.__version__,
        "torch_geometric": torch_geometric.__version__,
        "numpy": np.__version__,
        "torch_scatter": scatter,
    }


def git_revision(path: str | os.PathLike | None = None) -> dict[str, Any] | None:
    """``{"commit", "dirty", "changed"}`` of the git checkout at ``path`` (default: the checkout skelgraph is
    imported from), or None for an installed package, outside git, or without git."""
    if path is None:
        # An installed package may sit in a virtual environment inside some other repository: never report that.
        path = checkout_root()
        if path is None:
            return None
    where = Path(path)

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(where), *args], capture_output=True, text=True, check=True,
                              timeout=30).stdout

    try:
        commit = git("rev-parse", "HEAD").strip()
        changed = [line[3:] for line in git("status", "--porcelain").splitlines() if line.strip()]
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(changed), "changed": changed[:MAX_CHANGED]}


def cpu_model() -> str | None:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, ``sysctl`` on macOS), or None where neither answers."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip() or None
    except OSError:
        pass
    try:
        out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip()
        return out or None
    except (OSError, subprocess.SubprocessError):
        return None


def cpu_capability() -> str | None:
    """The instruction set torch's CPU kernels dispatch to (``"AVX512"``, ``"AVX2"``, ``"DEFAULT"``, ...): results
    are bit-identical only between runs whose CPU kernels use the same one (and the same build)."""
    try:
        return str(torch.backends.cpu.get_cpu_capability())
    except (AttributeError, RuntimeError):
        return None


def device_info(device: str) -> dict[str, Any]:
    """The device a run uses, by name, the CPU model and torch's instruction set, and the threads it may use."""
    info: dict[str, Any] = {"device": device, "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
                            "processor": platform.processor() or platform.machine(), "cpu_model": cpu_model(),
                            "cpu_capability": cpu_capability()}
    dev = torch.device(device)
    if dev.type == "cuda" and torch.cuda.is_available():
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        info.update(name=torch.cuda.get_device_name(index), cuda=torch.version.cuda,
                    cudnn=torch.backends.cudnn.version(), device_count=torch.cuda.device_count())
    return info


def collect(*, argv: list[str] | None, recipe_args: dict[str, Any] | None, train_config: dict[str, Any],
            seed: int | None, device: str) -> dict[str, Any]:
    """One provenance record of the current process (see the module docstring)."""
    return {
        "start_time": datetime.now().astimezone().isoformat(timespec="seconds"),
        "argv": list(sys.argv),
        "recipe_argv": argv,
        "executable": sys.executable,
        "cwd": os.getcwd(),
        "config": recipe_args,
        "train_config": train_config,
        "seed": seed,
        "versions": package_versions(),
        "skelgraph_path": str(Path(skelgraph.__file__).resolve().parent),
        "git": git_revision(),
        "device": device_info(device),
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "environment": {k: os.environ[k] for k in RECORDED_ENV if k in os.environ},
    }


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n")
    os.replace(tmp, path)  # a crash while writing never leaves half a file


def write_run_records(out_dir: str | os.PathLike, record: dict[str, Any], *, resume: bool = False) -> None:
    """Write ``config.json`` (when the record has recipe arguments) and ``provenance.json`` into ``out_dir``.

    A resumed run appends its record to the existing ``provenance.json`` and rewrites ``config.json`` (an
    extended run replays with its final settings)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if record.get("config") is not None:
        _write_json(out / CONFIG_FILE, record["config"])
    path = out / PROVENANCE_FILE
    if resume and path.exists():
        first = json.loads(path.read_text())
        first.setdefault("resumed", []).append(record)
        record = first
    _write_json(path, record)
