"""Sphinx configuration of the skelgraph documentation.

    pip install -e ".[docs]" && sphinx-build -W --keep-going -b html docs docs/_build/html

Three parts are generated at build time by ``_ext/skelgraph_docs.py`` (into ``docs/_generated/``, never edited by
hand): the accuracy table from ``bench/results/accuracy/summary.json``, the command reference from every command's
own ``--help``, and one API page per public module of the package.
"""

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

import skelgraph  # noqa: E402

project = "skelgraph"
author = "skelgraph authors"
copyright = "skelgraph authors"  # noqa: A001 (Sphinx's name)
release = version = skelgraph.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "skelgraph_docs",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_generated/accuracy.md"]  # included by reproduction.md, not a page
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False

html_theme = "furo"
html_title = f"skelgraph {release}"
