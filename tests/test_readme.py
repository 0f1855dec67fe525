"""README holds what a visitor needs first, and every command and path it shows is real."""

import importlib
import re
import shlex
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
run_in_one_process = importlib.import_module("skelgraph_docs").run_in_one_process


def bash_lines() -> list[str]:
    return [line for block in re.findall(r"```bash\n(.*?)```", README, re.S) for line in block.splitlines()]


def inline_commands() -> list[str]:
    return [c for c in re.findall(r"`(python [^`]+)`", README) if not c.startswith("python -m pytest")]


def test_readme_fits_two_screens():
    assert len(README.splitlines()) <= 200


def test_readme_tour_runs():
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert blocks
    namespace: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    assert tuple(namespace["scores"].shape) == (16, 8)
    assert tuple(namespace["gca_scores"].shape) == (16, 8)
    assert tuple(namespace["h"].shape) == (50, 100, 32)


def test_readme_has_exactly_two_setup_commands():
    bash = re.findall(r"```bash\n(.*?)```", README, re.S)
    setup = [b for b in bash if "python3 -m venv" in b]
    assert len(setup) == 2
    assert setup[0].strip().endswith("python recipes/arrn_ntu.py")
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == setup[1].strip(), ".ci/run ends with the README's test command, verbatim"


def test_readme_fast_subset_deselects_registered_slow_tests():
    assert 'python -m pytest -q -m "not slow"' in bash_lines()
    assert any(m.startswith("slow:") for m in _pytest_markers()), "the slow marker is registered"
    marked = [p for p in (ROOT / "tests").rglob("test_*.py") if "pytest.mark.slow" in p.read_text()]
    assert len(marked) >= 5


def _pytest_markers() -> list[str]:
    tomllib = pytest.importorskip("tomllib")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["markers"]


def test_readme_docs_command_uses_a_declared_extra():
    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    (docs,) = [line for line in bash_lines() if "sphinx-build" in line]
    assert '".[docs]"' in docs and "sphinx" in " ".join(extras["docs"])
    assert "sphinx-build -W --keep-going -b html docs docs/_build/html" in docs
    assert "sphinx-build -W" in (ROOT / ".ci" / "run").read_text()


def _argv(command: str) -> list[str]:
    words = shlex.split(command.split(" < ")[0])
    assert words[0] == "python", command
    return words[1:]


def test_readme_commands_exist_and_their_parsers_accept_them():
    """Recipes and ``skelgraph.train`` parse the whole command line (``--print-config`` stops before any work);
    the other commands show every option the README gives them in their ``--help``."""
    commands = [c for c in bash_lines() + inline_commands()
                if c.startswith("python ") and not c.startswith(("python3 -m venv", "python -m pytest"))]
    assert len(commands) >= 10, commands
    full = [c for c in commands if c.startswith(("python recipes/", "python -m skelgraph.train"))]
    other = [c for c in commands if c not in full]
    for command in commands:
        argv = _argv(command)
        assert argv[0] == "-m" or (ROOT / argv[0]).is_file(), f"{command}: no such script"
    before = {p.name for p in (ROOT / "runs").iterdir()} if (ROOT / "runs").is_dir() else set()
    results = run_in_one_process([[*_argv(c), "--print-config"] for c in full]
                                 + [[*_argv(c), "--help"] for c in other])
    for command, (code, text) in zip(full + other, results):
        assert code == 0, f"{command}\n{text[-2000:]}"
    for command, (_, text) in zip(other, results[len(full):]):
        for option in re.findall(r"(?<=\s)--[a-z][a-z-]*", command):
            assert option in text, f"{command}: {option} is not an option of that command"
    after = {p.name for p in (ROOT / "runs").iterdir()} if (ROOT / "runs").is_dir() else set()
    assert after <= before, "--print-config wrote a run folder"


def test_readme_paths_exist():
    paths = {p for p in re.findall(r"`([\w./+-]+/[\w./+-]*)`", README)
             if not p.startswith(("runs/", "http")) and "/" in p}
    paths |= {"LICENSE", "CITATION.cff", "CHANGELOG.md"}
    assert len(paths) >= 8
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert not missing, f"README names files that do not exist: {missing}"
