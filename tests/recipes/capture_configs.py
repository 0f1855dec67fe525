"""The resolved configuration (``--print-config``) of every shipped recipe for every model / stream / training /
paper-setting choice, as printed before recipes became typed configurations (b87824a + 0ae93ae). Run once to
write ``fixtures/print_config.json``; ``test_configs.py`` compares today's resolved configurations to it.

    python tests/recipes/capture_configs.py
"""

from __future__ import annotations

import contextlib
import importlib
import io
import itertools
import json
import os
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "fixtures" / "print_config.json"
GCA_MODELS = ["gca", "gca2", "st-lstm", "global1", "global2"]
NOWHERE = "/nonexistent-skelgraph-data"


def cases(full_ntu: str) -> dict[str, tuple[str, list[str]]]:
    """name -> (module, argv)."""
    out: dict[str, tuple[str, list[str]]] = {}
    for recipe, extra in (("arrn_msr", [[]]), ("arrn_florence", [[]]),
                          ("arrn_utkinect", [["--protocol", "xsub"], ["--protocol", "loso"]])):
        for stream, paper, more in itertools.product(["two", "joint", "line"], [False, True], extra):
            argv = ["--data-root", NOWHERE, "--stream", stream, *more] + (["--paper-setting"] if paper else [])
            out[f"{recipe} {' '.join(argv[2:])}"] = (f"skelgraph.recipes.{recipe}", argv)
    for root, dataset, stream in itertools.product([NOWHERE, full_ntu], ["ntu60", "ntu120"], ["two", "joint", "line"]):
        argv = ["--data-root", root, "--dataset", dataset, "--stream", stream]
        tag = "full" if root == full_ntu else "demo"
        out[f"arrn_ntu[{tag}] {' '.join(argv[2:])}"] = ("skelgraph.recipes.arrn_ntu", argv)
    for root, model, training in itertools.product([NOWHERE, full_ntu], GCA_MODELS, ["direct", "stepwise"]):
        argv = ["--data-root", root, "--model", model, "--training", training]
        tag = "full" if root == full_ntu else "demo"
        out[f"gca_lstm_ntu[{tag}] {' '.join(argv[2:])}"] = ("skelgraph.recipes.gca_lstm_ntu", argv)
    for recipe, extra in (("gca_lstm_sbu", [[]]),
                          ("gca_lstm_utkinect", [["--protocol", "xsub"], ["--protocol", "loso"]])):
        for model, training, trust, paper, more in itertools.product(GCA_MODELS, ["default", "direct", "stepwise"],
                                                                     [False, True], [False, True], extra):
            if trust and model in ("gca", "gca2"):
                continue  # refused when the run starts, printed all the same: not a shipped choice
            argv = (["--data-root", NOWHERE, "--model", model, *more]
                    + ([] if training == "default" else ["--training", training])
                    + (["--trust-gate"] if trust else []) + (["--paper-setting"] if paper else []))
            out[f"{recipe} {' '.join(argv[2:])}"] = (f"skelgraph.recipes.{recipe}", argv)
        out[f"{recipe} --epochs 7 --grad-clip 2 --model global2"] = (
            f"skelgraph.recipes.{recipe}", ["--data-root", NOWHERE, "--epochs", "7", "--grad-clip", "2",
                                            "--model", "global2"])
    for model, paper in itertools.product(["arrn", *GCA_MODELS], [False, True]):
        argv = ["--data", "d", "--layout", "coco17", "--model", model] + (["--paper-setting"] if paper else [])
        out[f"train {' '.join(argv[4:])}"] = ("skelgraph.train", argv)
    out["train --model gca --training direct"] = ("skelgraph.train", ["--data", "d", "--layout", "coco17", "--model",
                                                                      "gca", "--training", "direct"])
    return out


def printed(module: str, argv: list[str]) -> dict:
    main = importlib.import_module(module).main
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        try:
            main([*argv, "--print-config"])
        except SystemExit as stop:
            assert stop.code in (0, None), (module, argv, stop.code)
    return json.loads(buf.getvalue())


def normalise(config: dict, full_ntu: str) -> dict:
    """Machine-dependent values: the fake full NTU root and the default device."""
    out = dict(config)
    if out.get("data_root") == full_ntu:
        out["data_root"] = "<full-ntu>"
    if "device" in out:
        out["device"] = "<default>"
    return out


def full_ntu_root(tmp: str) -> str:
    from skelgraph.datasets.ntu import FULL_DIR

    root = Path(tmp, "full_ntu")
    (root / "raw" / FULL_DIR).mkdir(parents=True, exist_ok=True)
    return str(root)


def capture() -> dict[str, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        full = full_ntu_root(tmp)
        return {name: {"module": module, "argv": [a if a != full else "<full-ntu>" for a in argv],
                       "config": normalise(printed(module, argv), full)}
                for name, (module, argv) in cases(full).items()}


if __name__ == "__main__":
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    FIXTURE.write_text(json.dumps(capture(), indent=1, sort_keys=True) + "\n")
    print(f"{FIXTURE}: {len(json.loads(FIXTURE.read_text()))} configurations")
