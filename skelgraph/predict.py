"""Classify skeleton files with a trained checkpoint.

Command line::

    python -m skelgraph.predict --checkpoint RUN/model.pt FILE [FILE ...] [--top 5] [--plot attention.png]
        [--animate attention.gif] [--split S] [--json-key KEY]
    python -m skelgraph.predict --checkpoint RUN/model.pt --stream [--bodies M] < frames.jsonl

FILE is an NTU ``.skeleton``, an MSR Action3D ``*_skeleton3D.txt``, an SBU ``skeleton_pos.txt``, a generic
``.npy`` / ``.npz`` / ``.csv`` / ``.json`` array in the checkpoint's joint layout, 2-D or 3-D, with or without
scores (see :mod:`skelgraph.io.folder`), or a whole data set: a PYSKL annotation ``.pkl``, a CTR-GCN ``.npz``
archive (both read safely; ``--split`` picks a split, default every sample) or a
:class:`~skelgraph.datasets.SkeletonFolder` directory. The checkpoint (``model.pt``, the lean export of a run, or
its ``best.pt`` / ``last.pt``) carries the model, the class names, the pre-processing and the whole joint layout,
so nothing else is needed, whatever layout the model was trained on. It is loaded with ``weights_only=True`` and
may name only registered model classes: opening a foreign file runs no code. User errors (a missing or malformed
file, a damaged checkpoint, a bad option) print one line and exit with 2.

``--stream`` reads one frame per line from standard input as JSON: an array ``[J][C]`` (or ``[M][J][C]``; ``C +
1`` channels carry the score last), or an object ``{"keypoints": ..., "score": ...}``; after every frame it prints
one JSON line ``{"frame": n, "top": [[class, probability], ...]}`` (:class:`~skelgraph.online.OnlinePredictor`:
incremental for ARRN-LSTM, a sliding window for the GCA models). A line that is not a usable frame (broken JSON,
another shape, values beyond float32, results that would not be finite) is reported on stderr with its line
number and reason, and the stream goes on with the next frame; ``--strict`` stops at the first (exit 2).

No number printed is NaN or Inf: a file whose pre-processing or scores are not finite is named instead (exit 2).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from skelgraph.data import SkeletonSequence, to_data
from skelgraph.inference import Prediction, Predictor
from skelgraph.io import (
    SkeletonFormatError,
    pyskl_sequence,
    read_ctrgcn,
    read_msr_action3d,
    read_ntu_skeleton,
    read_pyskl,
    read_sbu,
    read_sequence,
)
from skelgraph.nn.st_lstm import flush_denormals
from skelgraph.online import OnlinePredictor
from skelgraph.skeleton import Layout
from skelgraph.training.runs import OneLineParser, check_device, cli_main, say_run_status

__all__ = ["Prediction", "Predictor", "is_collection", "main", "predict_files", "predict_stream", "read_any",
           "read_collection", "stream_frames"]


def read_any(path: str | Path, layout: Layout, sbu_units: str = "metres", key: str = "coords") -> SkeletonSequence:
    """Read one file of any supported format (chosen by its name) in ``layout``; SBU files in ``sbu_units``
    (those the model was trained on, see :func:`sbu_units`); ``key``: the coordinates' key in ``.npz`` / JSON."""
    path = Path(path)
    if path.suffix == ".skeleton":
        seq = read_ntu_skeleton(path)
    elif path.name.endswith("_skeleton3D.txt"):
        seq = read_msr_action3d(path)
    elif path.name == "skeleton_pos.txt":
        seq = read_sbu(path, sbu_units)
    else:
        seq = read_sequence(path, layout, key=key)
    if seq.layout.name != layout.name:
        raise SkeletonFormatError(path, None, f"a skeleton in the model's layout {layout.name!r}",
                                  f"layout {seq.layout.name!r}")
    return seq


def is_collection(path: str | Path) -> bool:
    """Whether ``path`` holds many samples: a folder, a PYSKL ``.pkl`` or a CTR-GCN ``.npz`` (``x_train`` ...)."""
    path = Path(path)
    if path.is_dir() or path.suffix.lower() == ".pkl":
        return True
    if path.suffix.lower() == ".npz" and path.is_file():
        import zipfile

        try:
            with zipfile.ZipFile(path) as archive:
                return any(n.startswith(("x_train", "x_test")) for n in archive.namelist())
        except (zipfile.BadZipFile, OSError):
            return False
    return False


def read_collection(path: str | Path, layout: Layout, split: str = "all", key: str = "coords"
                    ) -> list[SkeletonSequence]:
    """Every sample of ``split`` of a folder (its ``labels.csv``), a PYSKL ``.pkl`` or a CTR-GCN ``.npz``
    (``"all"``: every sample; a CTR-GCN archive's ``train`` then ``test``). Samples without a person or frame are
    left out and counted on stderr."""
    path = Path(path)
    skipped = 0
    out: list[SkeletonSequence] = []
    if path.is_dir():
        from skelgraph.datasets.folder import SkeletonFolder

        rows = SkeletonFolder.rows_of(path)
        wanted = [r for r in rows if split == "all" or r.get("split") == split]
        if split != "all" and not wanted:
            raise ValueError(f"{path}: no row of labels.csv is in split {split!r}")
        for row in wanted:
            found = SkeletonFolder.find_file(path, str(row["name"]))
            if found is None:
                raise FileNotFoundError(f"{path}: no array file for {row['name']!r}")
            seq = read_sequence(found, layout, key=key)
            seq.meta["name"] = str(row["name"])
            out.append(seq)
    elif path.suffix.lower() == ".pkl":
        from skelgraph.io import EmptySequenceError

        annotations = read_pyskl(path)
        wanted_names = set(annotations.split_names(split))
        for number, record in enumerate(annotations.annotations):
            if record["frame_dir"] in wanted_names:
                try:
                    out.append(pyskl_sequence(path, record, number, layout))
                except EmptySequenceError:
                    skipped += 1
    else:
        from skelgraph.io import EmptySequenceError
        from skelgraph.io.ctrgcn import CTRGCN_SPLITS

        for name in (CTRGCN_SPLITS if split == "all" else [split]):
            samples = read_ctrgcn(path, layout, name)
            for i in range(len(samples)):
                try:
                    out.append(samples.sequence(i))
                except EmptySequenceError:
                    skipped += 1
    if not path.is_dir():
        for seq in out:
            seq.meta["source"] = f"{path}:{seq.meta['name']}"  # one sample of a file of many
    if skipped:
        print(f"{path}: {skipped} sample(s) without a person or a frame left out", file=sys.stderr)
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
                  plot: str | Path | None = None, animate: str | Path | None = None, split: str = "all",
                  key: str = "coords") -> list[Prediction]:
    """Classify ``files`` with ``checkpoint`` (single sequences, or every sample of ``split`` of a folder, PYSKL
    ``.pkl`` or CTR-GCN ``.npz``); optionally draw the first sequence's joint weights (attention or mask) to
    ``plot`` (PNG) and as an animated skeleton to ``animate`` (GIF)."""
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    for option, picture in (("--plot", plot), ("--animate", animate)):
        if picture is not None:
            _check_writable(Path(picture), option)
    if check_device(device).type == "cpu":
        flush_denormals()
    predictor = Predictor(checkpoint, device)
    sequences: list[SkeletonSequence] = []
    for f in files:
        if is_collection(f):
            sequences += read_collection(f, predictor.layout, split, key)
        else:
            sequences.append(read_any(f, predictor.layout, sbu_units(predictor.meta), key))
    if not sequences:
        raise ValueError("no sample to classify")
    predictions = predictor(sequences, top)
    if plot is not None or animate is not None:
        from skelgraph.training.experiment import animate_attention, body_channels, plot_attention, plot_up

        sample = predictor.transform(to_data(sequences[0]))
        drawing = dict(up=plot_up(predictor.meta), channels_per_body=body_channels(predictor.meta))
        for path, draw in ((plot, plot_attention), (animate, animate_attention)):
            if path is not None and draw(predictor.model, sample, predictor.layout, Path(path), **drawing) is None:
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


#: Longest line ``--stream`` reads as one frame (a frame of 133 joints with scores is about 5 KB of JSON).
MAX_STREAM_LINE = 1 << 20


def _stream_line(line: str, source: str, number: int) -> tuple[Any, Any]:
    """``(keypoints, score or None)`` of one JSON line; :class:`SkeletonFormatError` when it is not a frame."""
    if len(line) > MAX_STREAM_LINE:
        raise SkeletonFormatError(source, number, f"a frame of at most {MAX_STREAM_LINE} characters",
                                  f"{len(line)} characters")
    try:
        value = json.loads(line)
    except json.JSONDecodeError as err:
        raise SkeletonFormatError(source, number, "one JSON frame per line", err.msg) from None
    except RecursionError:
        raise SkeletonFormatError(source, number, "a frame nested a few levels deep", "nesting too deep") from None
    except ValueError as err:  # e.g. an integer of more than 4300 digits
        raise SkeletonFormatError(source, number, "one JSON frame per line", str(err)[:120]) from None
    score = None
    if isinstance(value, dict):
        key = next((k for k in ("keypoints", "coords") if k in value), None)
        if key is None:
            raise SkeletonFormatError(source, number, "an object with 'keypoints' (and optionally 'score')",
                                      f"the keys {sorted(map(str, value))[:10]}")
        value, score = value[key], value.get("score")
    return value, score


def stream_frames(lines: Iterable[str], source: str = "<stdin>",
                  report: Callable[[SkeletonFormatError], None] | None = None) -> Iterator[tuple[int, Any, Any]]:
    """``(line number, keypoints, score or None)`` of every non-blank JSON line (see the module docstring). A
    line that is not a frame is handed to ``report`` and skipped; without ``report`` it is raised.

    Raises:
        SkeletonFormatError: a line that is not JSON (or nested too deeply, or too long), or an object without
            ``keypoints`` (only without ``report``).
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value, score = _stream_line(line, source, number)
        except SkeletonFormatError as err:
            if report is None:
                raise
            report(err)
            continue
        yield number, value, score


def predict_stream(checkpoint: str | Path, lines: Iterable[str], out: IO[str], top: int = 5, device: str = "cpu",
                   bodies: int = 1, window: int | None = None, stride: int = 1, strict: bool = False,
                   errors: IO[str] | None = None) -> int:
    """Classify a stream of frames (JSON lines, :func:`stream_frames`) after every frame, writing one JSON line
    per frame to ``out``; returns the number of frames. A line that is not a usable frame (not JSON, another
    shape, values beyond float32, pre-processing or scores that are not finite) is reported on ``errors``
    (default stderr) with its line number and reason, and the stream goes on with the next line as if it had
    not come; with ``strict`` the first one ends the stream (:class:`SkeletonFormatError`)."""
    errors = errors if errors is not None else sys.stderr
    skipped = 0

    def bad(err: SkeletonFormatError) -> None:
        nonlocal skipped
        if strict:
            raise err
        skipped += 1
        print(" ".join(str(err).split()), file=errors, flush=True)

    if check_device(device).type == "cpu":
        flush_denormals()
    online = OnlinePredictor.from_checkpoint(checkpoint, device, bodies=bodies, window=window, stride=stride)
    for number, keypoints, score in stream_frames(lines, report=bad):
        try:
            online.push(keypoints, score)
        except (ValueError, TypeError, OverflowError) as err:
            bad(SkeletonFormatError("<stdin>", number, "a frame in the model's layout with finite results",
                                    " ".join(str(err).split())[:200]))
            continue
        out.write(json.dumps({"frame": online.frames_seen, "top": [[n, round(p, 6)] for n, p in online.top(top)]},
                             allow_nan=False) + "\n")
        out.flush()
    if skipped:
        print(f"<stdin>: {skipped} bad line(s) skipped, {online.frames_seen} frame(s) classified", file=errors)
    return online.frames_seen


def main(argv: list[str] | None = None) -> int:
    p = OneLineParser(prog="python -m skelgraph.predict", description=__doc__.split("\n\n")[0],
                      formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="model.pt (or best.pt / last.pt) of a recipe or "
                   "skelgraph.train run")
    p.add_argument("files", nargs="*", help="skeleton files to classify: single sequences, or a folder / PYSKL "
                   ".pkl / CTR-GCN .npz of many")
    p.add_argument("--top", type=_positive, default=5, help="how many classes to show per file")
    p.add_argument("--device", default="cpu")
    p.add_argument("--split", default="all", help="the split of a folder, .pkl or CTR-GCN .npz to classify")
    p.add_argument("--json-key", default="coords", help="key of the coordinates in .npz / JSON files")
    p.add_argument("--plot", default=None, help="write the attention / mask plot of the first file here (PNG)")
    p.add_argument("--animate", default=None,
                   help="write the first file as an animated skeleton with its per-frame joint weights here (GIF)")
    p.add_argument("--stream", action="store_true", help="read frames as JSON lines on stdin and print the top "
                   "classes after every frame (online prediction)")
    p.add_argument("--bodies", type=_positive, default=1, help="--stream: body slots per frame")
    p.add_argument("--window", type=_positive, default=None,
                   help="--stream, GCA models: frames in the sliding window (default: the model's T)")
    p.add_argument("--stride", type=_positive, default=1,
                   help="--stream, ARRN-LSTM: every STRIDE-th frame enters the model")
    p.add_argument("--strict", action="store_true", help="--stream: stop at the first bad line (default: report it "
                   "on stderr with its line number and go on with the next frame)")
    args = p.parse_args(argv)
    if args.stream == bool(args.files):
        p.error("give skeleton files, or --stream (frames on stdin), not both")

    def run(_: list[str] | None) -> int:
        say_run_status(args.checkpoint)
        if args.stream:
            predict_stream(args.checkpoint, sys.stdin, sys.stdout, args.top, args.device, args.bodies, args.window,
                           args.stride, args.strict)
            return 0
        predictions = predict_files(args.checkpoint, args.files, args.top, args.device, args.plot,
                                    args.animate, args.split, args.json_key)
        for pred in predictions:
            print(pred.source)
            for rank, (name, prob) in enumerate(pred.top, 1):
                print(f"  {rank}. {name:<45s} {prob:7.2%}")
        return 0

    return cli_main(run)


if __name__ == "__main__":
    sys.exit(main())
