"""Classify skeleton files with a trained checkpoint.

Command line::

    python -m skelgraph.predict --checkpoint RUN/model.pt FILE [FILE ...] [--top 5] [--plot attention.png]
        [--animate attention.gif]

FILE is an NTU ``.skeleton``, an MSR Action3D ``*_skeleton3D.txt``, an SBU ``skeleton_pos.txt``, or a generic
``.npy`` / ``.npz`` / ``.csv`` / ``.json`` array in the checkpoint's joint layout (see
:func:`skelgraph.io.read_array`). The checkpoint (``model.pt``, the lean export of a run, or its ``best.pt`` /
``last.pt``) carries the model, the class names and the pre-processing, so nothing else is needed. It is loaded
with ``weights_only=True`` and may name only registered model classes: opening a foreign file runs no code.
User errors (a missing or malformed file, a damaged checkpoint, a bad option) print one line and exit with 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from torch_geometric.data import Batch

from skelgraph.data import SkeletonSequence, to_data
from skelgraph.io import SkeletonFormatError, read_msr_action3d, read_ntu_skeleton, read_sbu, read_sequence
from skelgraph.nn.st_lstm import flush_denormals
from skelgraph.skeleton import Layout, get_layout
from skelgraph.training.checkpoint import CheckpointError, load_checkpoint
from skelgraph.training.registry import build_model, build_transform
from skelgraph.training.runs import OneLineParser, check_device, cli_main


@dataclass
class Prediction:
    """Top classes of one file: ``(class name, probability)`` pairs, most probable first."""

    source: str
    top: list[tuple[str, float]]


def read_any(path: str | Path, layout: Layout, sbu_units: str = "metres") -> SkeletonSequence:
    """Read one file of any supported format (chosen by its name) in ``layout``; SBU files in ``sbu_units``
    (those the model was trained on, see :func:`sbu_units`)."""
    path = Path(path)
    if path.suffix == ".skeleton":
        seq = read_ntu_skeleton(path)
    elif path.name.endswith("_skeleton3D.txt"):
        seq = read_msr_action3d(path)
    elif path.name == "skeleton_pos.txt":
        seq = read_sbu(path, sbu_units)
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
        if not isinstance(meta, dict) or "model" not in meta or "pipeline" not in meta \
                or not isinstance(ckpt.get("model"), dict) or not ckpt.get("class_names"):
            raise CheckpointError(f"{checkpoint}: not a skelgraph recipe checkpoint (no model spec, pipeline, "
                                  "weights or class names)")
        try:
            self.model = build_model(meta["model"]).to(device)
            self.model.load_state_dict(ckpt["model"])
            self.layout = get_layout(meta["pipeline"]["layout"])
            self.transform = build_transform(meta["pipeline"], train=False)
        except (TypeError, ValueError, KeyError, RuntimeError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise CheckpointError(f"{checkpoint}: cannot rebuild its model ({first[:200]})") from None
        self.model.eval()
        self.class_names: list[str] = [str(c) for c in ckpt["class_names"]]
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


def sbu_units(meta: dict) -> str:
    """The units SBU files must be read in for a checkpoint: those of its training data (checkpoints written
    before SBU was read in metres trained on the normalised values)."""
    dataset = meta.get("dataset") or {}
    if dataset.get("name") != "sbu":
        return "metres"
    from skelgraph.datasets.sbu import SBU

    return SBU.protocol_arguments(dataset)["units"]


def predict_files(checkpoint: str | Path, files: list[str | Path], top: int = 5, device: str = "cpu",
                  plot: str | Path | None = None, animate: str | Path | None = None) -> list[Prediction]:
    """Classify ``files`` with ``checkpoint``; optionally draw the first file's joint weights (attention or
    mask) to ``plot`` (PNG) and as an animated skeleton to ``animate`` (GIF)."""
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    for option, picture in (("--plot", plot), ("--animate", animate)):
        if picture is not None:
            _check_writable(Path(picture), option)
    if check_device(device).type == "cpu":
        flush_denormals()
    predictor = Predictor(checkpoint, device)
    sequences = [read_any(f, predictor.layout, sbu_units(predictor.meta)) for f in files]
    predictions = predictor(sequences, top)
    if plot is not None or animate is not None:
        from skelgraph.training.experiment import animate_attention, plot_attention, plot_up

        sample = predictor.transform(to_data(sequences[0]))
        up = plot_up(predictor.meta)
        for path, draw in ((plot, plot_attention), (animate, animate_attention)):
            if path is not None and draw(predictor.model, sample, predictor.layout, Path(path), up=up) is None:
                print(f"{type(predictor.model).__name__} exposes no joint weights to draw", file=sys.stderr)
    return predictions


def _check_writable(path: Path, option: str = "--plot") -> None:
    """Fail before any work when a picture could not be written."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise IsADirectoryError(f"{option} {path} is a folder; name a file")
    if not folder.is_dir():
        raise FileNotFoundError(f"{option} {path}: no folder {folder}")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise PermissionError(f"{option} {path}: not writable")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    p = OneLineParser(prog="python -m skelgraph.predict", description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True, help="model.pt (or best.pt / last.pt) of a recipe run")
    p.add_argument("files", nargs="+", help="skeleton files to classify")
    p.add_argument("--top", type=_positive, default=5, help="how many classes to show per file")
    p.add_argument("--device", default="cpu")
    p.add_argument("--plot", default=None, help="write the attention / mask plot of the first file here (PNG)")
    p.add_argument("--animate", default=None,
                   help="write the first file as an animated skeleton with its per-frame joint weights here (GIF)")
    args = p.parse_args(argv)

    def run(_: list[str] | None) -> int:
        predictions = predict_files(args.checkpoint, args.files, args.top, args.device, args.plot,
                                    args.animate)
        for pred in predictions:
            print(pred.source)
            for rank, (name, prob) in enumerate(pred.top, 1):
                print(f"  {rank}. {name:<45s} {prob:7.2%}")
        return 0

    return cli_main(run)


if __name__ == "__main__":
    sys.exit(main())
