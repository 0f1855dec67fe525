"""Package list for setuptools (the rest of the configuration is in pyproject.toml).

Every ``skelgraph*`` package is found automatically (new sub-packages need no edit here); ``skelgraph._bundled``
maps the repository's ``datasets/`` folder into the installed package, so that a wheel carries the bundled real
data and its provenance (which files: ``[tool.setuptools.package-data]`` in pyproject.toml). pyproject.toml alone
cannot express this: its package discovery and a package living in another folder do not combine.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["skelgraph", "skelgraph.*"]), "skelgraph._bundled"],
    package_dir={"skelgraph._bundled": "datasets"},
)
