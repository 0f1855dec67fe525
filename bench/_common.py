"""Shared by the bench scripts: running one measurement in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_worker(script: str, spec: dict) -> dict:
    """Run ``script --worker <spec as JSON>`` in a fresh process (so measurements do not disturb each other) and
    return the JSON object its last output line holds."""
    proc = subprocess.run([sys.executable, script, "--worker", json.dumps(spec)], capture_output=True, text=True,
                          cwd=ROOT)
    if proc.returncode:
        raise RuntimeError(f"{Path(script).name} worker {spec} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
