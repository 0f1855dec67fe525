"""The README's tour runs as written."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_tour_runs():
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert blocks
    namespace: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    assert tuple(namespace["scores"].shape) == (16, 8)
    assert tuple(namespace["gca_scores"].shape) == (16, 8)
    assert tuple(namespace["h"].shape) == (50, 100, 32)


def test_readme_stock_pyg_layers_run():
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    (block,) = [b for b in blocks if "FrameWise" in b]
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # includes the FrameWise == PerFrameGraphs assertion
    assert tuple(namespace["h"].shape) == (4 * 2 * 15, 20, 16)
    assert tuple(namespace["per_frame"].shape) == (4 * 20, 16)
    assert tuple(namespace["pooled"].shape) == (4, 16)


def test_readme_has_exactly_two_setup_commands():
    bash = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    setup = [b for b in bash if "python3 -m venv" in b]
    assert len(setup) == 2
    assert setup[0].strip().endswith("python recipes/arrn_ntu.py")
    ci = (ROOT / ".ci" / "run").read_text()
    assert setup[1].strip() in ci, ".ci/run runs the README's test command verbatim"


def test_readme_online_prediction_runs():
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    (block,) = [b for b in blocks if "OnlinePredictor" in b]
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["online"].frames_seen == 10 and tuple(namespace["probabilities"].shape) == (5,)


def test_readme_layout_json_is_a_layout():
    import json

    from skelgraph.skeleton import Layout

    (block,) = re.findall(r"```json\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert Layout.from_dict(json.loads(block)).num_joints == 5
