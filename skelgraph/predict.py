"""Classify skeleton files with a trained checkpoint.

Command line::

    python -m skelgraph.predict --checkpoint RUN/best.pt FILE [FILE ...] [--top 5] [--plot attention.png]
        [--animate attention.gif]

FILE is an NTU ``.skeleton``, an MSR Action3D ``*_skeleton3D.txt``, an SBU ``skeleton_pos.txt``, or a generic
``.npy`` / ``.npz`` / ``.csv`` / ``.json`` array in the checkpoint's joint layout (see
:func:`skelgraph.io.read_array`). The checkpoint carries the model, the class names and the pre-processing,
so nothing else is needed.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from torch_geometric.data import Batch

from skelgraph.data import SkeletonSequence, to_data
from skelgraph.io import SkeletonFormatError, read_msr_action3d, read_ntu_skeleton, read_sbu, read_sequence
from skelgraph.nn.st_lstm import flush_denormals
from skelgraph.skeleton import Layout, get_layout
from skelgraph.training.checkpoint import load_checkpoint
from skelgraph.training.registry import build_model, build_transform


@dataclass
class Prediction:
    """Top classes of one file: ``(class name, probability)`` pairs, most probable first."""

    source: str
    top: list[tuple[str, float]]


def read_any(path: str | Path, layout: Layout) -> SkeletonSequence:
    """Read one file of any supported format (chosen by its name) in ``layout``."""
    path = Path(path)
    if path.suffix == ".skeleton":
        seq = read_ntu_skeleton(path)
    elif path.name.endswith("_skeleton3D.txt"):
        seq = read_msr_action3d(path)
    elif path.name == "skeleton_pos.txt":
        seq = read_sbu(path)
    else:
        seq = read_sequence(path, layout)
    if seq.layout.name != layout.name:
        raise SkeletonFormatError(path, None, f"a skeleton in the model's layout {layout.name!r}",
                                  f"layout {seq.layout.name!r}")
    return seq


class Predictor:
    """A checkpoint loaded for inference."""

    def __init__(self, checkpoint: str | Path, device: str = "cpu") -> None:
        ckpt = load_checkpoint(checkpoint, map_location=device)
        meta = ckpt.get("meta") or {}
        if "model" not in meta or "pipeline" not in meta:
            raise ValueError(f"{checkpoint}: not a skelgraph recipe checkpoint (no model/pipeline in its meta)")
        self.model = build_model(meta["model"]).to(device)
        self.model.load_state_dict(ckpt["model"])
        self.model.eval()
        self.class_names: list[str] = list(ckpt["class_names"])
        self.layout = get_layout(meta["pipeline"]["layout"])
        self.transform = build_transform(meta["pipeline"], train=False)
        self.device = device
        self.meta = meta

    @torch.no_grad()
    def __call__(self, sequences: list[SkeletonSequence], top: int = 5) -> list[Prediction]:
        graphs = [self.transform(to_data(s)) for s in sequences]
        scores = self.model(Batch.from_data_list(graphs).to(self.device))
        probs = scores.float().softmax(dim=-1).cpu()
        out = []
        for seq, p in zip(sequences, probs):
            values, idx = p.topk(min(top, p.numel()))
            out.append(Prediction(str(seq.meta.get("source", seq.meta.get("name", ""))),
                                  [(self.class_names[i], float(v)) for v, i in zip(values, idx.tolist())]))
        return out


def predict_files(checkpoint: str | Path, files: list[str | Path], top: int = 5, device: str = "cpu",
                  plot: str | Path | None = None, animate: str | Path | None = None) -> list[Prediction]:
    """Classify ``files`` with ``checkpoint``; optionally draw the first file's joint weights (attention or
    mask) to ``plot`` (PNG) and as an animated skeleton to ``animate`` (GIF)."""
    if torch.device(device).type == "cpu":
        flush_denormals()
    predictor = Predictor(checkpoint, device)
    sequences = [read_any(f, predictor.layout) for f in files]
    predictions = predictor(sequences, top)
    if plot is not None or animate is not None:
        from skelgraph.training.experiment import animate_attention, plot_attention, plot_up

        sample = predictor.transform(to_data(sequences[0]))
        up = plot_up(predictor.meta)
        for path, draw in ((plot, plot_attention), (animate, animate_attention)):
            if path is not None and draw(predictor.model, sample, predictor.layout, Path(path), up=up) is None:
                print(f"{type(predictor.model).__name__} exposes no joint weights to draw", file=sys.stderr)
    return predictions


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m skelgraph.predict", description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True, help="best.pt or last.pt of a recipe run")
    p.add_argument("files", nargs="+", help="skeleton files to classify")
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--device", default="cpu")
    p.add_argument("--plot", default=None, help="write the attention / mask plot of the first file here (PNG)")
    p.add_argument("--animate", default=None,
                   help="write the first file as an animated skeleton with its per-frame joint weights here (GIF)")
    args = p.parse_args(argv)
    try:
        predictions = predict_files(args.checkpoint, args.files, args.top, args.device, args.plot, args.animate)
    except SkeletonFormatError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for pred in predictions:
        print(pred.source)
        for rank, (name, prob) in enumerate(pred.top, 1):
            print(f"  {rank}. {name:<45s} {prob:7.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
