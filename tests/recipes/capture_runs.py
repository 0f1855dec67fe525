"""What every shipped recipe hands to ``run_experiment`` (the TrainConfig, the model spec, the pipeline, the split
sizes, resume / monitoring flags) for many model / stream / training / paper-setting choices on the bundled or a
small generated data set, and the ``metrics.json`` of a few seeded tiny runs, as before recipes became typed
configurations. Run once to write ``fixtures/run_specs.json`` and ``fixtures/metrics_*.json``; ``test_configs.py``
compares today's to them.

    python tests/recipes/capture_runs.py
"""

from __future__ import annotations

import contextlib
import importlib
import io
import itertools
import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SPECS = HERE / "fixtures" / "run_specs.json"
sys.path.insert(0, str(ROOT / "tests" / "io"))


class Captured(Exception):
    def __init__(self, record: dict) -> None:
        self.record = record


def _record(model, train_set, val_set, test_set, config, out_dir, *, class_names, layout, meta, resume=False,
            override=False, after_training=None, monitor_test=False, **_recorded_elsewhere):
    raise Captured({"config": asdict(config), "meta": json.loads(json.dumps(meta, default=str)),
                    "sizes": [len(train_set), None if val_set is None else len(val_set),
                              None if test_set is None else len(test_set)],
                    "classes": len(class_names), "resume": resume, "override": override,
                    "after_training": after_training is not None, "monitor_test": monitor_test,
                    "parameters": sum(p.numel() for p in model.parameters()), "model": type(model).__name__})


def data(tmp: Path) -> dict[str, str]:
    from skel_io_helpers import write_florence, write_utkinect

    roots = {}
    for folder in ("msr_action3d", "sbu", "ntu_rgbd"):
        (tmp / folder).mkdir()
        (tmp / folder / "raw").symlink_to(ROOT / "datasets" / folder / "raw")
        roots[folder] = str(tmp / folder)
    (tmp / "florence" / "raw").mkdir(parents=True)
    write_florence(tmp / "florence" / "raw" / "Florence_dataset_WorldCoordinates.txt",
                   [(v, 1 + v % 3, 1 + v % 9, 5 + v % 4) for v in range(1, 19)])
    roots["florence"] = str(tmp / "florence")
    write_utkinect(tmp / "utk" / "raw", {f"s{s:02d}_e{e:02d}": [("walk", 1, 8), ("sitDown", 10, 17),
                                                                  ("pickUp", 19, 26)]
                                         for s in (1, 2, 3, 4) for e in (1, 2)}, nan_entry=False)
    roots["utk"] = str(tmp / "utk")
    return roots


def cases(roots: dict[str, str]) -> dict[str, tuple[str, list[str]]]:
    out: dict[str, tuple[str, list[str]]] = {}
    for stream, paper in itertools.product(["two", "joint", "line"], [False, True]):
        tail = ["--stream", stream] + (["--paper-setting"] if paper else [])
        out[f"arrn_msr {' '.join(tail)}"] = ("skelgraph.recipes.arrn_msr", ["--data-root", roots["msr_action3d"],
                                                                            "--tiny", "--subset", "AS1", *tail])
        out[f"arrn_florence {' '.join(tail)}"] = ("skelgraph.recipes.arrn_florence",
                                                  ["--data-root", roots["florence"], "--folds", "0", *tail])
        out[f"arrn_utkinect {' '.join(tail)}"] = ("skelgraph.recipes.arrn_utkinect", ["--data-root", roots["utk"],
                                                                                      *tail])
        out[f"arrn_ntu {' '.join(tail)}"] = ("skelgraph.recipes.arrn_ntu", ["--data-root", roots["ntu_rgbd"],
                                                                            "--T", "8", *tail])
    for model, training, paper in itertools.product(["gca", "gca2", "st-lstm", "global1", "global2"],
                                                    ["direct", "stepwise"], [False, True]):
        tail = ["--model", model, "--training", training] + (["--paper-setting"] if paper else [])
        out[f"gca_lstm_sbu {' '.join(tail)}"] = ("skelgraph.recipes.gca_lstm_sbu", ["--data-root", roots["sbu"],
                                                                                    "--tiny", "--folds", "0", *tail])
        out[f"gca_lstm_utkinect {' '.join(tail)}"] = ("skelgraph.recipes.gca_lstm_utkinect",
                                                      ["--data-root", roots["utk"], "--val-fraction", "0.25", *tail])
        if not paper:
            out[f"gca_lstm_ntu {' '.join(tail)}"] = ("skelgraph.recipes.gca_lstm_ntu",
                                                     ["--data-root", roots["ntu_rgbd"], "--T", "8", *tail])
    out["gca_lstm_sbu --model st-lstm --trust-gate"] = ("skelgraph.recipes.gca_lstm_sbu",
                                                        ["--data-root", roots["sbu"], "--tiny", "--folds", "0",
                                                         "--model", "st-lstm", "--trust-gate"])
    out["arrn_msr options"] = ("skelgraph.recipes.arrn_msr",
                               ["--data-root", roots["msr_action3d"], "--tiny", "--subset", "AS1", "--no-velocity",
                                "--readout", "mean", "--lstm-sizes", "6", "5", "--weight-decay", "0.01", "--center",
                                "sequence", "--alpha", "0.25", "--lr-decay", "0.9", "--grad-clamp", "3",
                                "--rotate", "10", "--random-scale", "0.9", "1.1", "--noise", "0.1", "--optimizer",
                                "rmsprop", "--rmsprop-alpha", "0.9", "--no-monitor-test", "--log-every", "3",
                                "--frame-sampling", "segment", "--no-mask", "--dropout", "0.2"])
    out["gca_lstm_sbu options"] = ("skelgraph.recipes.gca_lstm_sbu",
                                   ["--data-root", roots["sbu"], "--tiny", "--folds", "0", "--cosine", "--N", "3",
                                    "--init", "mean", "--attention", "soft", "--no-share-within", "--share-across",
                                    "--stepwise-patience", "2", "--stepwise-max-epochs", "4", "--chain", "simple",
                                    "--forget-bias", "0", "--bodies", "separate", "--velocity", "--ema", "3",
                                    "--training", "stepwise", "--selection", "val-split", "--weight-decay", "0.1"])
    return out


def run_spec(module: str, argv: list[str], targets: list[str]) -> dict:
    main = importlib.import_module(module).main
    saved = []
    for target in targets:
        mod = importlib.import_module(target)
        saved.append((mod, mod.run_experiment))
        mod.run_experiment = _record
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            main([*argv, "--no-progress", "--out", str(Path(tempfile.gettempdir()) / "skelgraph-capture-unused")])
    except Captured as got:
        return got.record
    finally:
        for mod, fn in saved:
            mod.run_experiment = fn
    raise AssertionError(f"{module} {argv}: run_experiment was not reached")


def normalise(record: dict, roots: dict[str, str]) -> dict:
    text = json.dumps(record, sort_keys=True)
    for name, root in roots.items():
        text = text.replace(root, f"<{name}>")
    out = json.loads(text)
    out["config"]["device"] = "<default>"
    for holder in (out["meta"].get("pipeline") or {}, (out["meta"].get("model") or {}).get("kwargs") or {}):
        if isinstance(holder.get("layout"), dict):  # a whole Layout: its name says enough here
            holder["layout"] = holder["layout"]["name"]
    return out


TINY_RUNS = {
    "arrn_msr": ("skelgraph.recipes.arrn_msr", "msr_action3d",
                 ["--tiny", "--subset", "AS1", "--epochs", "2", "--T", "8", "--M", "8", "--E", "1", "--dropout",
                  "0.2", "--selection", "val-split", "--seed", "3",
                  # captured when Adam's beta2 was 0.999 for ARRN; the default became 0.99 (issue 35's screen)
                  "--adam-beta2", "0.999"], "AS1"),
    "gca_lstm_sbu": ("skelgraph.recipes.gca_lstm_sbu", "sbu",
                     ["--tiny", "--folds", "0", "--training", "stepwise", "--epochs", "3", "--T", "6", "--hidden",
                      "8", "--selection", "val-split", "--seed", "1"], "fold0"),
    "gca_lstm_sbu_default": ("skelgraph.recipes.gca_lstm_sbu", "sbu",
                             ["--tiny", "--folds", "0", "--epochs", "2", "--T", "6", "--hidden", "8"], "fold0"),
}


def tiny_metrics(name: str, roots: dict[str, str], tmp: Path) -> str:
    module, data_name, argv, fold = TINY_RUNS[name]
    main = importlib.import_module(module).main
    out = tmp / f"run_{name}"
    with contextlib.redirect_stdout(io.StringIO()):
        main(["--data-root", roots[data_name], *argv, "--no-progress", "--device", "cpu", "--out", str(out)])
    return (out / fold / "metrics.json").read_text()


if __name__ == "__main__":
    targets = sys.argv[1:] or ["skelgraph.recipes.run"]  # where run_experiment is called (b87824a: .base)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        roots = data(tmp)
        specs = {name: normalise(run_spec(module, argv, targets), roots)
                 for name, (module, argv) in cases(roots).items()}
        SPECS.write_text(json.dumps(specs, indent=1, sort_keys=True) + "\n")
        print(f"{SPECS}: {len(specs)} runs")
        for name in TINY_RUNS:
            path = HERE / "fixtures" / f"metrics_{name}.json"
            path.write_text(tiny_metrics(name, roots, tmp).replace(str(tmp), "<tmp>"))
            print(path)
