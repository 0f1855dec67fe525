"""Pages generated when the documentation is built, so that they follow the code and the results they show.

* ``_generated/accuracy.md``: the accuracy table, rendered from ``bench/results/accuracy/summary.json`` by the same
  function that writes README's table (``bench/accuracy_summary.py``).
* ``_generated/commands.md``: every command's own ``--help`` (each recipe in ``recipes/``, every console script of
  the installed package and ``python -m skelgraph.noise``), run in fresh processes.
* ``_generated/api/*.rst``: one page per public module of ``skelgraph`` (no name part starting with ``_``), found by
  walking the package, so a new module is documented without an edit here.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import importlib.util
import io
import json
import os
import pkgutil
import re
import runpy
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
GENERATED = DOCS / "_generated"

#: Section titles of the API reference, by sub-package (modules directly under ``skelgraph`` go to "Core").
API_SECTIONS = {
    "": "Core: layouts, sequences, graphs, transforms",
    "io": "Readers of raw formats (skelgraph.io)",
    "datasets": "Datasets and their protocols (skelgraph.datasets)",
    "nn": "Layers and models (skelgraph.nn)",
    "training": "Training engine, checkpoints, selection, plots (skelgraph.training)",
    "recipes": "Recipes and their building blocks (skelgraph.recipes)",
}


def public_modules(package: str = "skelgraph") -> list[str]:
    """Every importable module of ``package`` whose dotted name has no part starting with ``_``, sorted."""
    root = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(root.__path__, f"{package}."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def summary_line(module: str) -> str:
    """The first line of a module's docstring (the API index shows it)."""
    doc = importlib.import_module(module).__doc__
    if not doc or not doc.strip():
        raise ValueError(f"{module} has no module docstring: the API reference needs one")
    return doc.strip().splitlines()[0].strip()


def write_if_changed(path: Path, text: str) -> None:
    """Write ``text`` unless the file already holds it (an unchanged file keeps Sphinx from re-reading it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def api_pages(out: Path) -> list[str]:
    """Write ``out/api/<module>.rst`` for every public module and ``out/api.md``; return the modules."""
    modules = public_modules()
    groups: dict[str, list[str]] = {key: [] for key in API_SECTIONS}
    for name in modules:
        parts = name.split(".")
        key = parts[1] if len(parts) > 1 and parts[1] in API_SECTIONS else ""
        groups[key].append(name)
    index = ["# API reference", "",
             "Generated from the docstrings of every public module (`docs/_ext/skelgraph_docs.py` walks the package).",
             ""]
    for key, title in API_SECTIONS.items():
        index += [f"## {title}", "", "| module | what |", "| --- | --- |"]
        index += [f"| [`{m}`](api/{m}) | {summary_line(m).replace('|', '/')} |" for m in groups[key]]
        index += ["", "```{toctree}", ":hidden:", "", *[f"api/{m}" for m in groups[key]], "```", ""]
        for m in groups[key]:
            # Members defined in the module itself only: a package's ``__all__`` re-exports objects documented
            # on their own module's page, and a second description of one object is a duplicate target.
            page = [m, "=" * len(m), "", f".. automodule:: {m}", "   :ignore-module-all:", ""]
            write_if_changed(out / "api" / f"{m}.rst", "\n".join(page))
    write_if_changed(out / "api.md", "\n".join(index))
    return modules


def commands() -> list[tuple[str, list[str]]]:
    """(shown command, argv) of every command-line entry: recipes, console scripts, the noise study."""
    found = [(f"python recipes/{p.name}", [str(p)]) for p in sorted((ROOT / "recipes").glob("*.py"))]
    scripts = importlib.metadata.distribution("skelgraph").entry_points.select(group="console_scripts")
    for script in sorted(scripts, key=lambda s: s.name):
        found.append((f"{script.name} (python -m {script.module})", ["-m", script.module]))
    found.append(("python -m skelgraph.noise", ["-m", "skelgraph.noise"]))
    return found


def run_in_one_process(argvs: list[list[str]]) -> list[tuple[int, str]]:
    """``(exit code, output)`` of ``python ARGV`` for each argv (``["-m", module, ...]`` or ``[script, ...]``):
    stdout, and stderr too when the code is not 0. All run in one fresh process as ``__main__`` through
    :mod:`runpy`, so torch is imported once, not per command."""
    env = {**os.environ, "COLUMNS": "110", "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, __file__, json.dumps(argvs)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"running {len(argvs)} commands failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return [(code, text) for code, text in json.loads(out.stdout)]


def _run_here(argvs: list[list[str]]) -> list[tuple[int, str]]:
    results = []
    for argv in argvs:
        module = argv[0] == "-m"
        sys.argv = [argv[1] if module else argv[0], *argv[2 if module else 1:]]
        buffer, errors, code = io.StringIO(), io.StringIO(), 0
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(errors):
            try:
                if module:
                    runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
                else:
                    runpy.run_path(argv[0], run_name="__main__")
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        results.append((code, buffer.getvalue() + ("" if code == 0 else errors.getvalue())))
    return results


def _helps(argvs: list[list[str]]) -> list[str]:
    """Each command's ``--help`` text, as ``python ARGV --help`` prints it."""
    helps = []
    for argv, (code, text) in zip(argvs, run_in_one_process([[*argv, "--help"] for argv in argvs])):
        if code != 0:
            raise RuntimeError(f"{' '.join(argv)} --help exited with {code}")
        helps.append(text)
    return helps


def command_page(out: Path) -> None:
    """``out/commands.md``: each command's ``--help``, verbatim."""
    entries = commands()
    helps = _helps([argv for _, argv in entries])
    text = ["# Command reference", "",
            "Every command's own `--help`, captured when these pages were built (so it follows the code). "
            "Options shared by every recipe are explained in [Training, recipes and protocols](../training.md).", ""]
    for (shown, _), usage in zip(entries, helps):
        text += [f"## `{shown}`", "", "```text", usage.rstrip(), "```", ""]
    write_if_changed(out / "commands.md", "\n".join(text))


def accuracy_table() -> str:
    """README's accuracy table, rendered from ``summary.json`` by ``bench/accuracy_summary.py``'s own function."""
    spec = importlib.util.spec_from_file_location("accuracy_summary", ROOT / "bench" / "accuracy_summary.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # README links files by their repository path; these pages live elsewhere, so such links become their text.
    return re.sub(r"\[([^\]]+)\]\((?!https?://)[^)]+\)", r"\1", module.table(module.load()))


def generate(app=None) -> None:
    GENERATED.mkdir(exist_ok=True)
    write_if_changed(GENERATED / "accuracy.md", accuracy_table() + "\n")
    api_pages(GENERATED)
    command_page(GENERATED)


def setup(app):
    app.connect("builder-inited", generate)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":  # the worker of run_in_one_process: argv lists as JSON in, results as JSON out
    results = _run_here(json.loads(sys.argv[1]))
    sys.stdout.write(json.dumps(results))
