"""Shared by the bench scripts: running one measurement in a fresh interpreter, and running a recipe's inner
cross-validation alone (training data only)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

ROOT = Path(__file__).resolve().parents[1]


def run_worker(script: str, spec: dict) -> dict:
    """Run ``script --worker <spec as JSON>`` in a fresh process (so measurements do not disturb each other) and
    return the JSON object its last output line holds."""
    proc = subprocess.run([sys.executable, script, "--worker", json.dumps(spec)], capture_output=True, text=True,
                          cwd=ROOT)
    if proc.returncode:
        raise RuntimeError(f"{Path(script).name} worker {spec} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


class StopScreening(Exception):
    """Ends a recipe run that must stay on training data: raised where the recipe would start its final run on
    the whole training split (after its inner cross-validation), or earlier by a probe that has seen enough."""


def _stop_before_final_run(*args: Any, **kwargs: Any) -> NoReturn:
    raise StopScreening


def run_inner_cv_only(recipe_main: Callable[[list[str]], Any], argv: list[str], trainer: type) -> None:
    """Run ``recipe_main(argv)`` (a recipe with ``--selection inner-cv``) with ``trainer`` (a subclass of the
    engine's ``Trainer``) training every inner fold, and stop where the recipe would prepare its final run: no
    test figure is computed. The engine and recipe module attributes are restored afterwards."""
    import skelgraph.recipes.run as recipe_run
    import skelgraph.training.engine as engine

    saved = engine.Trainer, recipe_run.prepare_splits
    engine.Trainer = trainer  # inner_cv imports it at call time
    recipe_run.prepare_splits = _stop_before_final_run
    try:
        recipe_main(argv)
    except StopScreening:
        pass
    finally:
        engine.Trainer, recipe_run.prepare_splits = saved
