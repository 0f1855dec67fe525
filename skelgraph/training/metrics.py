"""Classification metrics: confusion matrix, top-k accuracy, per-class accuracy, fold summaries."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor


class ClassificationMeter:
    """Accumulates a confusion matrix, top-k hits and the summed loss over batches.

    All state is in tensors so that :meth:`all_reduce` can sum it across DDP ranks exactly.
    """

    def __init__(self, num_classes: int, topk: Sequence[int] = (1, 5)) -> None:
        self.num_classes = num_classes
        self.topk = tuple(k for k in topk if k <= num_classes) or (1,)
        self.confusion = torch.zeros(num_classes, num_classes, dtype=torch.long)
        self.hits = torch.zeros(len(self.topk), dtype=torch.long)
        self.loss_sum = torch.zeros((), dtype=torch.float64)
        self.count = torch.zeros((), dtype=torch.long)
        #: Summed (mean x batch size) named loss parts, e.g. ARRN-LSTM's per-stream losses.
        self.term_sums: dict[str, float] = {}

    @torch.no_grad()
    def update(self, scores: Tensor, target: Tensor, loss_sum: float | Tensor = 0.0,
               terms: dict[str, float] | None = None) -> None:
        """Add a batch: ``scores`` ``[B, K]``, ``target`` ``[B]``, ``loss_sum`` the batch's summed loss, ``terms``
        named batch-mean losses (reported by :meth:`compute` as ``loss_<name>``)."""
        scores, target = scores.detach().float().cpu(), target.detach().cpu()
        pred = scores.argmax(dim=1)
        self.confusion += torch.bincount(target * self.num_classes + pred,
                                         minlength=self.num_classes**2).view(self.num_classes, self.num_classes)
        top = scores.topk(max(self.topk), dim=1).indices
        for i, k in enumerate(self.topk):
            self.hits[i] += (top[:, :k] == target[:, None]).any(dim=1).sum()
        self.loss_sum += float(loss_sum)
        self.count += target.numel()
        for name, value in (terms or {}).items():
            self.term_sums[name] = self.term_sums.get(name, 0.0) + float(value) * target.numel()

    def all_reduce(self) -> None:
        """Sum the state over all ranks of the default process group (no-op when not distributed)."""
        if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
            return
        for name in ("confusion", "hits", "loss_sum", "count"):
            t = getattr(self, name)
            backend = torch.distributed.get_backend()
            dev = torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else torch.device("cpu")
            buf = t.to(dev)
            torch.distributed.all_reduce(buf)
            setattr(self, name, buf.cpu())
        if self.term_sums:  # every rank evaluates the same model, so the names agree
            names = sorted(self.term_sums)
            buf = torch.tensor([self.term_sums[k] for k in names], dtype=torch.float64, device=dev)
            torch.distributed.all_reduce(buf)
            self.term_sums = dict(zip(names, buf.cpu().tolist()))

    def per_class_accuracy(self) -> Tensor:
        """Recall of every class (NaN for classes with no sample)."""
        support = self.confusion.sum(dim=1)
        return self.confusion.diag().double() / support.double()

    def compute(self) -> dict[str, float]:
        n = max(int(self.count), 1)
        out = {"loss": float(self.loss_sum) / n, "samples": int(self.count)}
        out.update({f"loss_{k}": v / n for k, v in self.term_sums.items()})
        for k, h in zip(self.topk, self.hits.tolist()):
            out[f"top{k}"] = h / n
        per_class = self.per_class_accuracy()
        valid = per_class[~per_class.isnan()]
        out["mean_class_accuracy"] = float(valid.mean()) if valid.numel() else math.nan
        return out


def fold_summary(values: Sequence[float]) -> dict[str, float]:
    """Mean, sample standard deviation, min and max over folds (or seeds)."""
    t = torch.tensor(list(values), dtype=torch.float64)
    std = float(t.std()) if t.numel() > 1 else 0.0
    return {"mean": float(t.mean()), "std": std, "min": float(t.min()), "max": float(t.max()), "n": t.numel()}
