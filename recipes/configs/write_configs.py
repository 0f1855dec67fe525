"""Write ``recipes/configs/``: one configuration file per accuracy row (``bench/accuracy_campaign.py``'s ROWS,
named as the row) and one per paper's stated protocol (``--paper-setting``, and the NTU recipes' defaults, which are
their papers' settings). Each file is what the row's command resolves to (``--print-config``), without the ``run``
part (device, seed, run folder: how and where a run executes, not what it trains). ``--config FILE`` runs one;
options on the command line override it.

    python recipes/configs/write_configs.py          # rewrite every file
    python recipes/configs/write_configs.py --check  # exit 1 if a file differs from what its command resolves to
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "recipes" / "configs"
sys.path.insert(0, str(ROOT / "bench"))

#: Configurations that are no campaign row: the papers' stated protocols (name -> recipe script, options).
PAPER: dict[str, tuple[str, ...]] = {
    "sbu_gca_paper": ("recipes/gca_lstm_sbu.py", "--model", "gca", "--paper-setting"),
    "sbu_gca_stepwise_paper": ("recipes/gca_lstm_sbu.py", "--model", "gca", "--training", "stepwise",
                               "--paper-setting"),
    "utkinect_gca_paper": ("recipes/gca_lstm_utkinect.py", "--model", "gca", "--paper-setting"),
    "utkinect_arrn_paper": ("recipes/arrn_utkinect.py", "--paper-setting"),
    "florence_arrn_paper": ("recipes/arrn_florence.py", "--paper-setting"),
    "ntu60_xsub_arrn": ("recipes/arrn_ntu.py", "--dataset", "ntu60", "--benchmark", "xsub"),
    "ntu60_xsub_gca": ("recipes/gca_lstm_ntu.py", "--dataset", "ntu60", "--benchmark", "xsub"),
}


def commands() -> dict[str, tuple[str, ...]]:
    """Every configuration's name and command (a recipe script and its options)."""
    from accuracy_campaign import ROWS

    return {**{name: row.command[1:] for name, row in ROWS.items()}, **PAPER}


def resolved(command: tuple[str, ...]) -> dict:
    """What ``python SCRIPT OPTIONS --print-config`` prints, less the ``run`` part, for data found nowhere (NTU:
    as if the full set were there: the papers' settings, not the bundled samples' demonstration)."""
    from skelgraph.recipes.cli import parse_config

    script, *argv = command
    module = importlib.import_module(f"skelgraph.recipes.{Path(script).stem}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if "ntu" in script:
            from skelgraph.datasets.ntu import FULL_DIR

            (root / "raw" / FULL_DIR).mkdir(parents=True)
        config = parse_config(module.RECIPE, [*argv, "--data-root", str(root)]).to_dict()
    del config["run"]
    config["data"]["data_root"] = None
    return config


def text(config: dict) -> str:
    return json.dumps(config, indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="compare, write nothing")
    args = p.parse_args(argv)
    stale = []
    for name, command in commands().items():
        path = CONFIGS / f"{name}.json"
        want = text(resolved(command))
        if args.check:
            if not path.exists() or path.read_text() != want:
                stale.append(path.name)
        else:
            CONFIGS.mkdir(parents=True, exist_ok=True)
            path.write_text(want)
    if stale:
        print(f"stale: {', '.join(stale)} (python recipes/configs/write_configs.py rewrites them)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
