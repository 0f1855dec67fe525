"""The documentation's generated parts cover the package, and its code blocks run as written.

The full build (``sphinx-build -W``) runs in CI (``.ci/run``); these checks are the cheap part of it."""

import importlib
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))
skelgraph_docs = importlib.import_module("skelgraph_docs")


def test_every_public_module_has_an_api_page(tmp_path):
    import pkgutil

    import skelgraph

    public = {"skelgraph"} | {m.name for m in pkgutil.walk_packages(skelgraph.__path__, "skelgraph.")
                              if not any(p.startswith("_") for p in m.name.split("."))}
    assert skelgraph_docs.api_pages(tmp_path) == sorted(public)
    documented = {re.search(r"^\.\. automodule:: (\S+)$", page.read_text(), re.M).group(1)
                  for page in (tmp_path / "api").glob("*.rst")}
    assert documented == public
    index = (tmp_path / "api.md").read_text()
    assert all(f"api/{name}" in index for name in public), "every page is in the index's toctrees"


def test_a_module_without_docstring_is_refused(monkeypatch):
    module = type(sys)("skelgraph_undocumented")
    monkeypatch.setitem(sys.modules, "skelgraph_undocumented", module)
    with pytest.raises(ValueError, match="no module docstring"):
        skelgraph_docs.summary_line("skelgraph_undocumented")


def test_command_reference_lists_every_recipe_and_console_script():
    tomllib = pytest.importorskip("tomllib")
    shown = [argv for _, argv in skelgraph_docs.commands()]
    recipes = sorted((ROOT / "recipes").glob("*.py"))
    assert recipes and all([str(p)] in shown for p in recipes)
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert all(["-m", target.split(":")[0]] in shown for target in scripts.values())


@pytest.mark.slow
def test_command_help_is_collected_as_the_command_prints_it(capsys):
    import subprocess

    (text,) = skelgraph_docs._helps([["-m", "skelgraph.evaluate"]])
    direct = subprocess.run([sys.executable, "-m", "skelgraph.evaluate", "--help"], cwd=ROOT, capture_output=True,
                            text=True, env={**__import__("os").environ, "COLUMNS": "110"}, check=True).stdout
    assert text == direct and "--checkpoint" in text


def test_accuracy_table_is_the_readme_table():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("<!-- accuracy-table:start -->\n")[1].split("\n<!-- accuracy-table:end -->")[0]
    unlinked = re.sub(r"\[([^\]]+)\]\((?!https?://)[^)]+\)", r"\1", table)
    assert skelgraph_docs.accuracy_table() == unlinked


@pytest.mark.parametrize("page", ["pyg.md", "data.md"])
def test_python_blocks_of_the_docs_run(page):
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, page, "exec"), {})


def test_every_guide_page_is_in_the_toctree():
    index = (DOCS / "index.md").read_text()
    for page in DOCS.glob("*.md"):
        if page.name != "index.md":
            assert f"\n{page.stem}\n" in index, f"{page.name} is not in index.md's toctree"
