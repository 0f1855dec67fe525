"""Other fusion forms of ARRN-LSTM's two streams (Eq. 12), screened on stored held-out stream logits, no training.

    python bench/fusion_forms.py screen_msr_arrn_as2_e100_beta99 --save fusion_forms_msr_as2_beta99

reads the parts ``bench/results/accuracy/NAME.part<I>.json`` that ``bench/screen_average.py --inner-fold I``
wrote (every epoch's joint and line stream logits of each inner fold's held-out training subjects) and recomputes
each inner fold's validation curve under every fusion form:

* ``probabilities``: ``alpha softmax(z_joint) + (1 - alpha) softmax(z_line)``, Eq. (12) as written and the
  library's :func:`~skelgraph.nn.arrn.fuse_scores` (the curve ``screen_average.py`` stored; the script stops if
  it does not reproduce it exactly, since then it would not be measuring what the screen measured);
* ``logits``: ``alpha z_joint + (1 - alpha) z_line``; its argmax is that of the weighted product of the
  probabilities (the log-softmax normaliser is one constant per sample), the paper's "multiply";
* ``max``: the class of the larger of the two streams' probabilities.

The training objective of the default (the sum of the streams' cross-entropies) does not depend on the fusion
form, so the trained models are those of the screen and only the fusion differs. The inner-CV value is taken as
``screen_average.py`` takes it (``choose_epoch``: the size-weighted mean curve, smoothed, its peak). Test data is
never read: the parts hold inner-fold validation scores only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from skelgraph.training.selection import choose_epoch

RESULTS = Path(__file__).resolve().parent / "results" / "accuracy"
FORMS = ("probabilities", "logits", "max")


def fused_predictions(joint: torch.Tensor, line: torch.Tensor, alpha: float, form: str) -> torch.Tensor:
    """Predicted classes ``[B]`` from the streams' logits ``[B, K]`` under one fusion form."""
    if form == "probabilities":
        return (alpha * joint.softmax(-1) + (1 - alpha) * line.softmax(-1)).argmax(-1)
    if form == "logits":
        return (alpha * joint + (1 - alpha) * line).argmax(-1)
    if form == "max":
        return torch.maximum(joint.softmax(-1), line.softmax(-1)).argmax(-1)
    raise ValueError(f"unknown fusion form {form!r}; expected one of {FORMS}")


def load_parts(name: str, results: Path = RESULTS) -> list[dict]:
    """The ``measured`` record of every part ``NAME.part0.json``, ``NAME.part1.json``, ... in order."""
    parts = []
    while (path := results / f"{name}.part{len(parts)}.json").exists():
        parts.append(json.loads(path.read_text())["measured"])
    if not parts:
        raise SystemExit(f"no parts {results / name}.part0.json ...: run bench/screen_average.py --inner-fold I "
                         f"--save {name} first")
    return parts


def curves_by_form(parts: list[dict], variant: str, alpha: float) -> tuple[dict[str, list[list[float]]], list[int]]:
    """Each form's per-inner-fold accuracy curves, the inner folds' validation sizes; checks that the default form
    reproduces the stored curves."""
    curves: dict[str, list[list[float]]] = {form: [] for form in FORMS}
    sizes: list[int] = []
    for part in parts:
        stored = part["variants"][variant]
        if stored["scores"] is None:
            raise SystemExit(f"variant {variant!r} stored no stream scores (not a two-stream ARRN-LSTM screen)")
        sizes += part["sizes"]
        for fold_scores, fold_curve in zip(stored["scores"], stored["curves"]):
            per_form: dict[str, list[float]] = {form: [] for form in FORMS}
            for joint, line, y in fold_scores:
                joint, line, y = torch.tensor(joint), torch.tensor(line), torch.tensor(y)
                for form in FORMS:
                    hits = fused_predictions(joint, line, alpha, form) == y
                    per_form[form].append(float(hits.float().mean()))
            if per_form["probabilities"] != list(fold_curve):
                raise SystemExit("the probability average does not reproduce the stored curve: the parts were "
                                 "not scored at this alpha, or with other code")
            for form in FORMS:
                curves[form].append(per_form[form])
    return curves, sizes


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("screen", help="the screen's name (its parts NAME.part<I>.json in bench/results/accuracy/)")
    p.add_argument("--variant", default="ema10", help="which weights' scores (raw, ema10, ...)")
    p.add_argument("--alpha", type=float, default=0.5, help="the joint stream's weight for the weighted forms")
    p.add_argument("--smooth", type=int, default=5, help="as screen_average.py's --smooth")
    p.add_argument("--save", metavar="NAME", help="write NAME.json beside the parts")
    p.add_argument("--results", type=Path, default=RESULTS, help="where the parts are (default: %(default)s)")
    args = p.parse_args(argv)
    curves, sizes = curves_by_form(load_parts(args.screen, args.results), args.variant, args.alpha)
    rows = {}
    for form in FORMS:
        choice = choose_epoch(curves[form], sizes, args.smooth)
        rows[form] = {"inner_cv_value": choice["value"], "epoch": choice["epoch"], "mean_curve": choice["mean_curve"],
                      "last_epoch_per_fold": [c[-1] for c in curves[form]]}
        held = " / ".join(f"{a:.1%}" for a in rows[form]["last_epoch_per_fold"])
        print(f"{form:>13}: inner-CV value {choice['value']:.2%} at epoch {choice['epoch']}; "
              f"per inner fold at the last epoch {held}")
    if args.save:
        shown = argv if argv is not None else sys.argv[1:]
        out = {"command": "python bench/fusion_forms.py " + " ".join(shown),
               "screen": args.screen, "variant": args.variant, "alpha": args.alpha, "smooth": args.smooth,
               "sizes": sizes, "forms": rows,
               "note": "held-out training subjects' stored stream logits only; no training, no test data"}
        path = args.results / f"{args.save}.json"
        path.write_text(json.dumps(out, indent=1) + "\n")
        print(f"saved {path}")


if __name__ == "__main__":
    main()
