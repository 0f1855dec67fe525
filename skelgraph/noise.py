"""Robustness to noisy joints (GCA-LSTM, Liu et al., TIP 2018, Section V-E, Table VI).

Re-evaluates a trained recipe checkpoint on its dataset's test split with zero-mean Gaussian noise of standard
deviation ``sigma`` added to every joint coordinate, for ``sigma`` in centimetres converted to the data's units
per axis (:attr:`~skelgraph.datasets.base.SkeletonDataset.units_per_cm`: metres for NTU RGB+D, MSR Action3D and
UTKinect, SBU's normalised values per axis). The noise is added to the raw coordinates, before the recipe's
pre-processing (centring, the ``1 / std`` coordinate scale stored in the checkpoint, frame sampling), as a noisy
sensor would deliver them; absent bodies and frames stay zero. Every ``sigma`` is evaluated over several noise
draws (draw ``k`` uses the same seed at every ``sigma``, so the curve is smooth in ``sigma``). Command line::

    python -m skelgraph.noise --checkpoint RUN/model.pt [--sigmas 0.1 1 2 4 8 12 16 32] [--draws 5] [--out DIR]

writes ``DIR/noise.json`` (the table) and ``DIR/noise.png`` (accuracy against ``sigma``, with the paper's Table
VI for reference; DIR defaults to the checkpoint's folder).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch_geometric.loader import DataLoader
from torch_geometric.transforms import Compose

from skelgraph.inference import check_scores, load_for_inference
from skelgraph.io import SkeletonFormatError
from skelgraph.nn.st_lstm import flush_denormals
from skelgraph.training.metrics import ClassificationMeter
from skelgraph.training.registry import build_dataset, build_transform, dataset_class, pipeline_layout
from skelgraph.transforms import GaussianNoise

#: The standard deviations of Table VI, in centimetres.
PAPER_SIGMAS_CM: tuple[float, ...] = (0.1, 1.0, 2.0, 4.0, 8.0, 12.0, 16.0, 32.0)
#: GCA-LSTM's accuracy under that noise in Table VI (Berkeley MHAD, motion capture, not one of our datasets).
PAPER_TABLE_VI: dict[float, float] = {0.1: 1.0, 1.0: 0.993, 2.0: 0.985, 4.0: 0.975, 8.0: 0.956, 12.0: 0.927,
                                      16.0: 0.804, 32.0: 0.615}


def units_per_cm(dataset: dict[str, Any]) -> tuple[float, float, float]:
    """One centimetre in the raw coordinates of a recipe's dataset (``meta["dataset"]``), per axis."""
    units = dataset_class(dataset).coordinate_units_per_cm(dataset)
    if units is None:
        raise ValueError(f"the unit of the {dataset.get('name')} coordinates is not documented; "
                         "give it with --units-per-cm")
    return tuple(float(u) for u in units)  # type: ignore[return-value]


def noisy_pipeline(pipeline: Compose, sigma: Sequence[float] | None) -> Compose:
    """``pipeline`` preceded by Gaussian noise of per-axis ``sigma`` in the raw units (None: ``pipeline``): the
    noise reaches the coordinates before the recipe's centring and scaling, as a sensor's would."""
    return pipeline if sigma is None else Compose([GaussianNoise(tuple(sigma)), pipeline])


@torch.no_grad()
def top1_under_noise(model: torch.nn.Module, dataset: Any, pipeline: Compose, sigma: Sequence[float] | None,
                     seed: int, num_classes: int, batch_size: int = 64, device: str = "cpu") -> float:
    """Top-1 accuracy of ``model`` on ``dataset`` with noise of per-axis ``sigma`` (raw units; None: no noise)
    added before ``pipeline``, the noise drawn from torch's generator seeded with ``seed``."""
    dataset.transform = noisy_pipeline(pipeline, sigma)
    torch.manual_seed(seed)
    meter = ClassificationMeter(num_classes)
    model.eval()
    for batch in DataLoader(dataset, batch_size=batch_size, shuffle=False):
        batch = batch.to(device)
        scores = model(batch).float()
        names = [str(n) for n in batch.name] if isinstance(getattr(batch, "name", None), list) else []
        check_scores(scores, [f"{n} (noise sigma {list(sigma) if sigma is not None else 0})" for n in names])
        meter.update(scores, batch.y)
    return meter.compute()["top1"]


def noise_study(checkpoint: str | Path, sigmas_cm: Sequence[float] = PAPER_SIGMAS_CM, draws: int = 5, seed: int = 0,
                data_root: str | None = None, batch_size: int = 64, device: str = "cpu",
                units: Sequence[float] | None = None) -> dict[str, Any]:
    """Accuracy of a recipe checkpoint on its test split under Gaussian joint noise (see the module docstring).

    Returns the table: the clean accuracy, and per ``sigma`` (cm) its per-axis value in the data's units, the
    top-1 accuracy of every draw, their mean and standard deviation.
    """
    if device.startswith("cpu"):
        flush_denormals()
    loaded = load_for_inference(checkpoint, device, require=("model", "pipeline", "dataset"))
    model, meta = loaded.model, loaded.meta
    if not isinstance(meta["dataset"], dict):
        raise ValueError(f"{checkpoint}: its dataset spec is a {type(meta['dataset']).__name__}, not a dict")
    cm = tuple(float(u) for u in units) if units is not None else units_per_cm(meta["dataset"])
    ndim = pipeline_layout(meta["pipeline"]).ndim  # 3-D joints, or 2-D keypoints (pixels: give --units-per-cm)
    if len(cm) == 1:
        cm = cm * ndim
    if len(cm) != ndim:
        raise ValueError(f"--units-per-cm: one value or {ndim} (one per coordinate), got {len(cm)}")
    test = build_dataset(meta["dataset"], data_root, split="test", layout=meta["pipeline"]["layout"])
    pipeline = build_transform(meta["pipeline"], train=False)
    K = len(loaded.class_names)
    started = time.perf_counter()
    clean = top1_under_noise(model, test, pipeline, None, seed, K, batch_size, device)
    rows = []
    for s in sigmas_cm:
        sigma = [s * u for u in cm]
        top1 = [top1_under_noise(model, test, pipeline, sigma, seed * 1_000 + k, K, batch_size, device)
                for k in range(draws)]
        mean = sum(top1) / len(top1)
        std = math.sqrt(sum((a - mean) ** 2 for a in top1) / (len(top1) - 1)) if len(top1) > 1 else 0.0
        rows.append({"sigma_cm": s, "sigma_data": sigma, "top1": top1, "top1_mean": mean, "top1_std": std})
    return {
        "checkpoint": str(checkpoint),
        "model": meta["model"]["class"].rsplit(".", 1)[-1],
        "dataset": meta["dataset"],
        "split": "test",
        "samples": len(test),
        "units_per_cm": list(cm),
        "scale": meta["pipeline"].get("scale", 1.0),
        "draws": draws,
        "seed": seed,
        "clean_top1": clean,
        "results": rows,
        "paper_table_vi": {"dataset": "Berkeley MHAD (motion capture)", "top1": {str(k): v for k, v in
                                                                                PAPER_TABLE_VI.items()}},
        "seconds": time.perf_counter() - started,
    }


def plot_noise(table: dict[str, Any], path: str | Path) -> Path:
    """Accuracy against the noise's standard deviation (log scale), mean and spread over the draws, the clean
    accuracy, and the paper's Table VI (on Berkeley MHAD) for reference."""
    from skelgraph.training.experiment import describe_dataset
    from skelgraph.training.plots import _pyplot, _save

    plt = _pyplot()
    rows = table["results"]
    sigmas = [r["sigma_cm"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.errorbar(sigmas, [r["top1_mean"] for r in rows], yerr=[r["top1_std"] for r in rows], marker="o",
                capsize=3, label=f"{table['model']}: mean ± std of {table['draws']} noise draws")
    ax.axhline(table["clean_top1"], color="C0", ls=":", lw=1, label=f"no noise: {table['clean_top1']:.1%}")
    paper = {float(k): v for k, v in table["paper_table_vi"]["top1"].items()}
    ax.plot(list(paper), list(paper.values()), color="0.5", ls="--", marker="s", ms=4,
            label=f"paper, Table VI ({table['paper_table_vi']['dataset']})")
    ax.set_xscale("log")
    ax.set_xticks(sigmas, [f"{s:g}" for s in sigmas])
    ax.minorticks_off()
    ax.set(xlabel="noise standard deviation σ (cm, every axis)", ylabel="top-1 accuracy", ylim=(0, 1.02))
    ax.set_title(f"{table['model']}, {describe_dataset({'dataset': table['dataset']})}: {table['split']} top-1 under "
                 f"Gaussian joint noise ({table['samples']} samples)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return _save(fig, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m skelgraph.noise", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="model.pt of a run folder (or last.pt beside it)")
    p.add_argument("--data-root", default=None, help="dataset folder (default: the one the recipes use)")
    p.add_argument("--sigmas", type=float, nargs="+", default=list(PAPER_SIGMAS_CM),
                   help="noise standard deviations in centimetres")
    p.add_argument("--draws", type=int, default=5, help="noise draws per sigma")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--units-per-cm", type=float, nargs="+", default=None,
                   help="one centimetre in the data's units (one value or x y [z]); default: from the dataset (your "
                        "own data trained with python -m skelgraph.train has no documented unit: give it)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default=None, help="folder for noise.json and noise.png (default: the checkpoint's)")
    args = p.parse_args(argv)
    if args.draws < 1 or not all(math.isfinite(s) and s >= 0 for s in args.sigmas):
        print("error: --draws must be at least 1 and every sigma a finite non-negative number", file=sys.stderr)
        return 2
    if args.units_per_cm is not None and len(args.units_per_cm) not in (1, 2, 3):
        print("error: --units-per-cm takes one value or one per coordinate (x y [z])", file=sys.stderr)
        return 2
    if args.units_per_cm is not None and not all(math.isfinite(u) and u > 0 for u in args.units_per_cm):
        print(f"error: --units-per-cm must be finite and positive, got {' '.join(map(str, args.units_per_cm))}",
              file=sys.stderr)
        return 2
    try:
        table = noise_study(args.checkpoint, args.sigmas, args.draws, args.seed, args.data_root, args.batch_size,
                            args.device, args.units_per_cm)
    except (OSError, ValueError, KeyError, SkeletonFormatError) as err:
        print(f"error: {' '.join(str(err).split()) or type(err).__name__}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else Path(args.checkpoint).parent
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "noise.json").write_text(json.dumps(table, indent=2, allow_nan=False))
    except (OSError, ValueError) as err:  # a full disk, a read-only folder; NaN never reaches the table
        print(f"error: cannot write {out / 'noise.json'}: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    print(f"no noise: top-1 {table['clean_top1']:.2%} on {table['samples']} test samples")
    for r in table["results"]:
        print(f"sigma {r['sigma_cm']:5g} cm: top-1 {r['top1_mean']:.2%} ± {r['top1_std']:.2%}")
    try:
        plot_noise(table, out / "noise.png")
    except ImportError as err:
        print(f"no plot: {err}", file=sys.stderr)
    except OSError as err:
        print(f"error: cannot write {out / 'noise.png'}: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    print(f"-> {out / 'noise.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
