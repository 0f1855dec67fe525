"""Evaluate a trained checkpoint on a data split, save per-sample scores, and fuse saved scores.

    python -m skelgraph.evaluate --checkpoint RUN/model.pt [--data PATH] [--split S] [--clips N] [--scores FILE.npz]
    python -m skelgraph.evaluate --fuse A.npz B.npz [...] [--weights 1 0.5 ...] [--scores FUSED.npz]

The first form prints top-1, top-5 and mean-class accuracy of the checkpoint on a split and writes ``names``
(sample names), ``labels`` (class indices of the checkpoint), ``scores`` (``[N, K]`` class probabilities: the
softmax of the model's scores, one scale for every model) and ``class_names`` to the ``.npz`` (plain arrays,
read with ``numpy.load``, no pickle). ``--data`` is a :class:`~skelgraph.datasets.SkeletonFolder` directory, a
PYSKL ``.pkl`` or a CTR-GCN ``.npz``; without it, the data the run trained on (its test split by default: what
the run's ``metrics.json`` reports). ``--split`` defaults to the run's test split.

``--clips N`` is multi-clip testing (PYSKL's ``num_clips`` at test time): every sample is sampled to the run's
``T`` frames ``N`` times, deterministically, clip ``k`` taking in each of ``T`` windows around the evenly spaced
frames the frame at offset ``(k + 0.5) / N`` of the window (:class:`~skelgraph.transforms.FixedLength`), and its
scores are the mean of the ``N`` clips' probabilities. ``N = 1`` (the default) is exactly the single sampling the
run's test used; a sequence of at most ``T`` frames is kept whole, so its clips are all alike. No other test-time
change (no augmentation) is made, and nothing is chosen: ``N`` is fixed before the test is read. It costs ``N``
passes over the split and is not the paper's single-pass evaluation.

The second form combines saved scores of the same samples (e.g. the joint and bone streams, or two models) as
the weighted mean of their probabilities (``--weights``, default equal), prints each input's accuracy and the
fused one, and writes the fused scores with ``--scores``. User errors print one line and exit with 2.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from skelgraph.training.metrics import ClassificationMeter
from skelgraph.training.runs import OneLineParser, check_device, cli_main, say_run_status


def label_map(data_names: Sequence[str], model_names: Sequence[str]) -> list[int]:
    """The checkpoint's class index of every class index of a dataset: by name where the model knows every name
    of the data, else by index (data with integer class names ``0 .. K'-1``, ``K' <= K``).

    Raises:
        ValueError: the classes cannot be matched.
    """
    model_index = {n: i for i, n in enumerate(model_names)}
    if all(n in model_index for n in data_names):
        return [model_index[n] for n in data_names]
    if list(data_names) == [str(i) for i in range(len(data_names))] and len(data_names) <= len(model_names):
        return list(range(len(data_names)))
    unknown = [n for n in data_names if n not in model_index][:5]
    raise ValueError(f"the data's classes do not match the checkpoint's (unknown to it: {unknown})")


def metrics(scores: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """Top-1, top-5 (where there are 5 classes) and mean-class accuracy of ``scores`` ``[N, K]``."""
    meter = ClassificationMeter(scores.size(1))
    meter.update(scores, labels)
    out = meter.compute()
    return {k: out[k] for k in ("top1", "top5", "mean_class_accuracy", "samples") if k in out}


def _line(m: dict[str, float]) -> str:
    top5 = f"top-5 {m['top5']:.2%}  " if "top5" in m else ""
    return f"top-1 {m['top1']:.2%}  {top5}mean class accuracy {m['mean_class_accuracy']:.2%}  ({m['samples']} samples)"


def open_data(meta: dict[str, Any], layout: Any, data: str | None, split: str | None, key: str = "coords") -> Any:
    """The dataset to evaluate on: ``data`` (a folder, ``.pkl`` or ``.npz``) at ``split`` (default: the run's
    test split where the path is the run's, else every sample), or without ``data`` the run's own data."""
    from skelgraph.datasets.files import open_dataset
    from skelgraph.training.registry import build_dataset

    stored = meta.get("dataset") or {}
    if data is None:
        if not stored:
            raise ValueError("the checkpoint names no data set: give --data")
        return build_dataset(stored, None, split or "test", layout=layout)
    same = "path" in stored and Path(data).resolve() == Path(stored["path"])
    chosen = split or (stored.get("test_split") if same else None) or "all"
    if same and split in ("train", "test") and f"{split}_split" in stored:
        chosen = stored[f"{split}_split"]
    return open_dataset(data, layout, chosen, key=stored.get("key", key) if same else key)


@torch.no_grad()
def evaluate_checkpoint(checkpoint: str | Path, data: str | None = None, split: str | None = None,
                        batch_size: int = 64, device: str = "cpu", key: str = "coords", clips: int = 1
                        ) -> dict[str, Any]:
    """Scores of ``checkpoint`` on a split (see the module docstring): ``names``, ``labels``, ``scores``
    (probabilities), ``class_names`` and the ``metrics`` (from the model's scores, as training computes them).

    ``clips > 1``: multi-clip testing, ``scores`` the mean of the probabilities of ``clips`` deterministic frame
    samplings of every sample (:class:`~skelgraph.transforms.FixedLength`'s ``clip`` of ``clips``) and the
    ``metrics`` computed from that mean; ``clips=1`` is the single sampling the run's own test used."""
    from skelgraph.inference import Predictor
    from skelgraph.nn.st_lstm import flush_denormals
    from skelgraph.training.registry import build_transform

    if clips < 1:
        raise ValueError(f"clips must be at least 1, got {clips}")
    if check_device(device).type == "cpu":
        flush_denormals()
    predictor = Predictor(checkpoint, device)
    dataset = open_data(predictor.meta, predictor.layout, data, split, key)
    mapping = torch.tensor(label_map(list(dataset.class_names), predictor.class_names))
    K = len(predictor.class_names)
    meter = ClassificationMeter(K)
    per_clip = []
    for clip in range(clips):
        dataset.transform = build_transform(predictor.meta["pipeline"], train=False, clip=clip, clips=clips)
        # One clip: the meter sees the model's scores, as the run's own test did.
        scores, labels = _scores(predictor.model, dataset, mapping, batch_size, device,
                                 meter if clips == 1 else None)
        per_clip.append(scores)
    probabilities = torch.stack(per_clip).mean(0)  # one clip: its probabilities exactly
    if clips > 1:
        meter.update(probabilities, labels)
    result = meter.compute()
    return {"names": list(dataset.names), "labels": labels.numpy(),
            "scores": probabilities.numpy().astype(np.float32), "class_names": predictor.class_names,
            "metrics": {k: result[k] for k in ("top1", "top5", "mean_class_accuracy", "samples") if k in result},
            "data": str(data) if data is not None else "the run's data", "split": getattr(dataset, "split", split),
            "clips": clips}


def _scores(model: torch.nn.Module, dataset: Any, mapping: torch.Tensor, batch_size: int, device: str,
            meter: ClassificationMeter | None) -> tuple[torch.Tensor, torch.Tensor]:
    """One pass over ``dataset`` (in order): the probabilities ``[N, K]`` and the checkpoint's labels ``[N]``;
    ``meter`` (if any) sees the model's scores, as training's evaluation does."""
    from torch_geometric.loader import DataLoader
    from tqdm.auto import tqdm

    from skelgraph.inference import check_scores

    scores, labels = [], []
    for batch in tqdm(DataLoader(dataset, batch_size=batch_size), desc="evaluate", disable=not sys.stderr.isatty(),
                      leave=False):
        batch = batch.to(device)
        out = model(batch).float()
        check_scores(out, [str(n) for n in batch.name] if isinstance(getattr(batch, "name", None), list) else [])
        y = mapping[batch.y.cpu()]
        if meter is not None:
            meter.update(out, y)
        scores.append(out.softmax(-1).cpu())
        labels.append(y)
    return torch.cat(scores), torch.cat(labels)


def save_scores_check(path: str | Path) -> None:
    """Fail before any work when the scores file could not be written."""
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"--scores {path}: name a .npz file")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"--scores {path}: no folder {path.parent}")


def save_scores(path: str | Path, names: Sequence[str], labels: Any, scores: Any, class_names: Sequence[str]) -> None:
    """Write a scores file: plain string and number arrays (``numpy.load`` needs no pickle)."""
    save_scores_check(path)
    np.savez(path, names=np.asarray(list(names), dtype=str), labels=np.asarray(labels, dtype=np.int64),
             scores=np.asarray(scores, dtype=np.float32), class_names=np.asarray(list(class_names), dtype=str))


def load_scores(path: str | Path) -> dict[str, np.ndarray]:
    """Read a scores file of :func:`save_scores`; ``ValueError`` naming the file when it is not one."""
    try:
        with np.load(path, allow_pickle=False) as f:
            out = {k: f[k] for k in ("names", "labels", "scores", "class_names")}
    except FileNotFoundError:
        raise FileNotFoundError(f"no scores file {path}") from None
    except (KeyError, ValueError, OSError) as err:
        raise ValueError(f"{path}: not a scores file of skelgraph.evaluate ({err})") from None
    n = len(out["names"])
    if not np.issubdtype(out["scores"].dtype, np.floating) or not np.isfinite(out["scores"]).all():
        raise ValueError(f"{path}: its scores are not all finite numbers")
    if out["scores"].ndim != 2 or out["scores"].shape[0] != n or out["labels"].shape != (n,) \
            or out["scores"].shape[1] != len(out["class_names"]):
        raise ValueError(f"{path}: names, labels and scores [N, K] of a scores file do not fit together")
    return out


def fuse_scores(files: Sequence[str | Path], weights: Sequence[float] | None = None
                ) -> tuple[dict[str, np.ndarray], list[dict[str, float]]]:
    """The weighted mean of the probabilities of several scores files over the same samples (aligned by name)
    and classes; returns the fused scores and every input's metrics.

    Raises:
        ValueError: fewer than two files, a weight count that differs, other samples, classes or labels.
    """
    if len(files) < 2:
        raise ValueError("--fuse needs at least two scores files")
    return fuse_loaded([load_scores(f) for f in files], weights, [str(f) for f in files])


def fuse_loaded(loaded: Sequence[dict[str, Any]], weights: Sequence[float] | None = None,
                sources: Sequence[str] | None = None) -> tuple[dict[str, np.ndarray], list[dict[str, float]]]:
    """:func:`fuse_scores` on scores already in memory (what :func:`load_scores` reads, or
    :func:`evaluate_checkpoint` returns); ``sources`` name them in errors (default: ``input 0``, ...)."""
    sources = [f"input {i}" for i in range(len(loaded))] if sources is None else list(sources)
    w = [1.0] * len(loaded) if weights is None else [float(x) for x in weights]
    if len(w) != len(loaded) or any(x < 0 for x in w) or not sum(w) > 0:
        raise ValueError(f"--weights: {len(loaded)} non-negative weights with a positive sum, got {w}")
    loaded = [dict(s, names=np.asarray(s["names"]), labels=np.asarray(s["labels"]),
                   class_names=np.asarray(s["class_names"])) for s in loaded]
    first = loaded[0]
    order = {n: i for i, n in enumerate(first["names"].tolist())}
    if len(order) != len(first["names"]):
        raise ValueError(f"{sources[0]}: repeated sample names")
    fused = np.zeros_like(first["scores"], dtype=np.float64)
    each = []
    for path, s, weight in zip(sources, loaded, w):
        if sorted(s["names"].tolist()) != sorted(order) or s["class_names"].tolist() != first["class_names"].tolist():
            raise ValueError(f"{path}: other samples or classes than {sources[0]}")
        index = np.array([order[n] for n in s["names"].tolist()])
        labels = np.empty_like(first["labels"])
        labels[index] = s["labels"]
        if not np.array_equal(labels, first["labels"]):
            raise ValueError(f"{path}: other labels than {sources[0]} for the same samples")
        scores = np.empty_like(s["scores"])
        scores[index] = s["scores"]
        fused += weight * scores
        each.append(metrics(torch.from_numpy(scores), torch.from_numpy(first["labels"])))
    fused /= sum(w)
    return dict(first, scores=fused.astype(np.float32)), each


def main(argv: list[str] | None = None) -> int:
    p = OneLineParser(prog="python -m skelgraph.evaluate", description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", default=None, help="model.pt (or best.pt) of a skelgraph.train or recipe run")
    p.add_argument("--data", default=None, help="a SkeletonFolder directory, PYSKL .pkl or CTR-GCN .npz (default: "
                   "the run's data)")
    p.add_argument("--split", default=None, help="split to evaluate (default: the run's test split; 'all': every "
                   "sample)")
    p.add_argument("--json-key", default="coords", help="key of the coordinates in a folder's .npz / JSON files")
    p.add_argument("--scores", default=None, metavar="FILE.npz",
                   help="write names, labels, scores [N, K] (probabilities) and class_names here")
    p.add_argument("--fuse", nargs="+", default=None, metavar="SCORES.npz",
                   help="fuse these scores files (weighted mean of probabilities) instead of evaluating")
    p.add_argument("--weights", nargs="+", type=float, default=None, help="--fuse: one weight per file")
    p.add_argument("--clips", type=int, default=1, metavar="N",
                   help="multi-clip testing: the mean probabilities of N deterministic frame samplings per sample "
                        "(default 1: the run's own test sampling)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    if (args.checkpoint is None) == (args.fuse is None):
        p.error("give --checkpoint (evaluate) or --fuse (combine scores files)")
    if args.weights is not None and args.fuse is None:
        p.error("--weights goes with --fuse")
    if args.clips < 1:
        p.error(f"--clips must be at least 1, got {args.clips}")
    if args.clips != 1 and args.fuse is not None:
        p.error("--clips goes with --checkpoint")

    def run(_: list[str] | None) -> int:
        if args.fuse is not None:
            fused, each = fuse_scores(args.fuse, args.weights)
            for path, m in zip(args.fuse, each):
                print(f"{path}: {_line(m)}")
            m = metrics(torch.from_numpy(fused["scores"]), torch.from_numpy(fused["labels"]))
            print(f"fused ({', '.join(f'{w:g}' for w in (args.weights or [1.0] * len(args.fuse)))}): {_line(m)}")
            if args.scores:
                save_scores(args.scores, fused["names"], fused["labels"], fused["scores"], fused["class_names"])
                print(f"-> {args.scores}")
            return 0
        say_run_status(args.checkpoint)
        if args.scores is not None:
            save_scores_check(args.scores)
        result = evaluate_checkpoint(args.checkpoint, args.data, args.split, args.batch_size, args.device,
                                     args.json_key, args.clips)
        clips = f", {args.clips} clips" if args.clips > 1 else ""
        print(f"{args.checkpoint} on {result['data']} (split {result['split']}{clips}): {_line(result['metrics'])}")
        if args.scores:
            save_scores(args.scores, result["names"], result["labels"], result["scores"], result["class_names"])
            print(f"-> {args.scores}")
        return 0

    return cli_main(run)


if __name__ == "__main__":
    sys.exit(main())
