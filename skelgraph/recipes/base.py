"""Public building blocks of the recipes: what a recipe for a new dataset is made of.

A recipe is a command line (:func:`~skelgraph.training.experiment.base_parser` plus :func:`add_arrn_arguments`
or :func:`add_gca_arguments`), a dataset's train and test splits, a model built from the arguments
(:func:`build_arrn_model`, :func:`build_gca_model`), and a run (:func:`train_arrn`, :func:`train_gca`), repeated
over folds by :func:`run_folds`. The shipped recipes (``skelgraph.recipes.arrn_msr`` and friends) are written
with nothing else, so each doubles as an example. A new one, e.g. ARRN-LSTM on your own
:class:`~skelgraph.datasets.SkeletonFolder`::

    from skelgraph.datasets import SkeletonFolder
    from skelgraph.recipes import add_arrn_arguments, run_folds, train_arrn
    from skelgraph.training.experiment import base_parser

    p = base_parser("ARRN-LSTM on my data", epochs=100, batch_size=16, lr=1e-3)
    add_arrn_arguments(p, T=30, M=20)
    args = p.parse_args()

    def run(fold):
        train = SkeletonFolder("my_data", "ntu", split="train")
        test = SkeletonFolder("my_data", "ntu", split="test")
        return train_arrn(args, "msr", train, test, f"runs/mine/{fold}", {"name": "mine"}, optimizer="adam")

    run_folds(run, ["all"], label="my data", out="runs/mine", seed=args.seed)

Model selection never looks at a test split (``--selection``): the best epoch, the ARRN fusion weight ``alpha``
and the stepwise schedule (Algorithm 1) come from a stratified validation split carved from the training split
(:func:`prepare_splits`; without one, stepwise training gives each step a fixed number of epochs), or the
epoch budget and ``alpha`` from inner cross-validation over the training split's groups (:func:`inner_cv`),
or nothing is chosen and the last epoch is tested; ``--ema`` makes the evaluated and kept model an exponential
moving average of the weights.
Every coordinate is multiplied by ``1 / std`` of the centred training coordinates (stored in the checkpoint's
pipeline, so inference applies the same factor): in metres, classes differ by centimetres and training stalls.
"""

from __future__ import annotations

import argparse
import json
import math
import os.path as osp
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skelgraph.training.experiment import (
    coordinate_scale,
    dataset_labels,
    run_experiment,
    select_fusion_weight,
    stratified_split,
    stream_scores,
    subset,
    train_config,
)
from skelgraph.training.metrics import fold_summary
from skelgraph.training.registry import CENTERS, build_transform, model_spec, pipeline_channels, pipeline_spec
from skelgraph.training.seeding import seed_everything

#: ``--stream`` choices of the ARRN recipes and the streams they build.
STREAM_CHOICES: dict[str, tuple[str, ...]] = {"two": ("joint", "line"), "joint": ("joint",), "line": ("line",)}
#: Bodies side by side per joint with ``--bodies stacked`` (NTU's body selection and SBU keep at most two).
STACKED_BODIES = 2
#: The models of the GCA recipes (``--model``).
GCA_MODELS: dict[str, str] = {
    "gca": "GCA-LSTM (Section III)",
    "gca2": "two-stream GCA-LSTM (Section IV)",
    "st-lstm": "ST-LSTM (Liu et al., ECCV 2016; its trust gate with --trust-gate)",
    "global1": "ST-LSTM + Global (1): concatenation + FC",
    "global2": "ST-LSTM + Global (2): average",
}


# ------------------------------------------------------------------------------------------------ arguments
def _unit_interval(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1], got {text}")
    return value


def add_arrn_arguments(parser: argparse.ArgumentParser, *, T: int, M: int) -> None:
    """ARRN-LSTM options: ``--stream``, ``--no-mask``, ``--T``, ``--M``, ``--E``, ``--lstm-sizes``, ``--readout``,
    ``--dropout``, ``--checkpoint-activations``, ``--val-fraction`` (defaults: the paper's ``T``, ``M`` and LSTM
    sizes for the dataset)."""
    from skelgraph.nn.arrn import READOUTS

    p = parser
    p.add_argument("--stream", choices=sorted(STREAM_CHOICES), default="two",
                   help="two-stream ARRN-LSTM, or the joint / line stream alone")
    p.add_argument("--no-mask", action="store_true", help="RRN-LSTM ablation: no attention mask (Eq. 9)")
    p.add_argument("--T", type=int, default=T, help="frames per sample")
    p.add_argument("--M", type=int, default=M, help="embedding / RRN state size")
    p.add_argument("--E", type=int, default=5, help="RRN iterations")
    p.add_argument("--lstm-sizes", type=int, nargs="+", default=None, metavar="H",
                   help="hidden size of each LSTM layer, bottom to top (default: the paper's for the dataset)")
    p.add_argument("--readout", choices=READOUTS, default="last_valid",
                   help="what Eq. (11) classifies: the LSTM output at the last real frame (the paper), at frame T - 1, "
                        "or its mean over the real frames (not in the paper)")
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--checkpoint-activations", action="store_true",
                   help="recompute the RRN iterations in backward: much less memory, about 30%% more time")
    p.add_argument("--val-fraction", type=float, default=0.1,
                   help="share of the training split held out to choose alpha and the best epoch")
    p.add_argument("--alpha", type=_unit_interval, default=None,
                   help="fixed joint-stream fusion weight of Eq. (12) (the line stream gets 1 - alpha); default: "
                        "chosen on training data by --selection (val-split, inner-cv), 0.5 with --selection none")


def add_gca_arguments(parser: argparse.ArgumentParser, *, T: int, bodies: str = "separate") -> None:
    """GCA-LSTM / ST-LSTM options: ``--model`` (:data:`GCA_MODELS`), ``--training``, ``--T``, ``--N``,
    ``--init``, ``--attention``, the Table VIII sharing flags, ``--stepwise-patience``,
    ``--stepwise-max-epochs``, ``--hidden``, ``--dropout``, ``--chain``, ``--forget-bias``, ``--trust-gate``,
    ``--bodies``, ``--val-fraction``."""
    p = parser
    p.add_argument("--model", choices=sorted(GCA_MODELS), default="gca",
                   help="; ".join(f"{k}: {v}" for k, v in GCA_MODELS.items()))
    p.add_argument("--training", choices=["direct", "stepwise"], default="stepwise",
                   help="direct, or stepwise (Algorithm 1; GCA models only): with --selection val-split each step "
                        "ends when the validation loss stops falling, with --selection none after "
                        "--stepwise-max-epochs")
    p.add_argument("--T", type=int, default=T, help="frames per sample")
    p.add_argument("--N", type=int, default=2, help="attention iterations")
    p.add_argument("--init", choices=["ffn", "mean"], default="ffn", help="global context initialisation (Eq. 4)")
    p.add_argument("--attention", choices=["gate", "soft"], default="gate",
                   help="informativeness gate (Eq. 7) or the soft-attention variant of Section V-I")
    p.add_argument("--no-share-within", action="store_true", help="Table VIII: separate We1/We2 per iteration")
    p.add_argument("--share-across", action="store_true", help="Table VIII: share We1/We2 across iterations")
    p.add_argument("--stepwise-patience", type=int, default=1,
                   help="stepwise: epochs without a lower validation loss before the next step (Algorithm 1: 1)")
    p.add_argument("--stepwise-max-epochs", type=int, default=None,
                   help="stepwise: at most this many epochs per step, so that a slowly improving step cannot take "
                        "the whole budget; with --selection none, exactly this many (default: --epochs / (N + 1), "
                        "rounded up; 0: no bound, Algorithm 1 as written)")
    p.add_argument("--hidden", type=int, default=128, help="ST-LSTM state and global memory size")
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--chain", choices=["tree", "simple"], default="tree", help="joint chain of the ST-LSTM")
    p.add_argument("--forget-bias", type=float, default=-1.0,
                   help="initial offset of the ST-LSTM forget-gate biases (0: plain initialisation, whose cell "
                        "states grow over the grid and saturate)")
    p.add_argument("--trust-gate", action="store_true",
                   help="ST-LSTM baselines (st-lstm, global1, global2): both layers with the trust gate of Liu et "
                        "al. (ECCV 2016); st-lstm with it is the model GCA-LSTM's 'ST-LSTM [29]' rows cite")
    p.add_argument("--bodies", choices=["separate", "stacked"], default=bodies,
                   help="two-person samples: every body through the network on its own, scores averaged "
                        "(separate), or both bodies' coordinates side by side per joint (stacked: 6 channels)")
    p.add_argument("--val-fraction", type=float, default=0.1,
                   help="share of the training split held out for model selection and stepwise training")


# ------------------------------------------------------------------------------------------------ models
def build_arrn_model(args: argparse.Namespace, preset: str, num_classes: int, **overrides: Any) -> Any:
    """ARRN-LSTM from :func:`add_arrn_arguments` options on top of a paper preset (``"ntu"``, ``"ntu120"``,
    ``"msr"``, ``"florence"``; see :meth:`~skelgraph.nn.ARRNLSTM.from_paper`); ``overrides`` set any other field
    (e.g. ``num_joints`` for a layout of your own)."""
    from skelgraph.nn.arrn import ARRNLSTM

    if getattr(args, "alpha", None) is not None:  # a fixed fusion weight fuses the validation curves too
        overrides.setdefault("alpha", args.alpha)
    if getattr(args, "lstm_sizes", None):
        if min(args.lstm_sizes) < 1:
            raise SystemExit(f"--lstm-sizes must be positive, got {args.lstm_sizes}")
        overrides.setdefault("lstm_sizes", tuple(args.lstm_sizes))
    return ARRNLSTM.from_paper(preset, num_classes=num_classes, T=args.T, M=args.M, E=args.E,
                               streams=STREAM_CHOICES[args.stream], mask=not args.no_mask, dropout=args.dropout,
                               checkpoint=args.checkpoint_activations,
                               readout=getattr(args, "readout", "last_valid"), **overrides)


def build_gca_model(args: argparse.Namespace, layout: Any, num_classes: int,
                    in_channels: int = 3) -> tuple[Any, dict[str, Any]]:
    """The ``--model`` of :func:`add_gca_arguments` (GCA-LSTM, two-stream GCA-LSTM or an ST-LSTM baseline) and
    the keyword arguments it was built with (what a checkpoint stores to rebuild it). ``in_channels``: features
    per joint (:func:`~skelgraph.training.registry.pipeline_channels`: 3 for 3-D joints, 2 for 2-D, 6 with two
    stacked 3-D bodies, ...)."""
    from skelgraph.nn.gca_lstm import GCALSTM, STLSTMClassifier, TwoStreamGCALSTM

    common = dict(layout=layout, num_classes=num_classes, num_frames=args.T, hidden_channels=args.hidden,
                  in_channels=in_channels, dropout=args.dropout, chain=args.chain, forget_bias=args.forget_bias)
    trust_gate = getattr(args, "trust_gate", False)
    if args.model in ("gca", "gca2"):
        if trust_gate:
            raise SystemExit(f"--trust-gate applies to the ST-LSTM baselines (st-lstm, global1, global2), not to "
                             f"--model {args.model}")
        kwargs = dict(common, num_iterations=args.N, init=args.init, attention=args.attention,
                      share_within=not args.no_share_within, share_across=args.share_across)
        cls = GCALSTM if args.model == "gca" else TwoStreamGCALSTM
    else:
        head = {"st-lstm": "local", "global1": "global_fc", "global2": "global_mean"}[args.model]
        kwargs, cls = dict(common, head=head), STLSTMClassifier
        if trust_gate:  # only then, so that checkpoints of the plain baselines keep their stored arguments
            kwargs["trust_gate"] = True
    return cls(**kwargs), kwargs


# ------------------------------------------------------------------------------------------------ protocol
def add_protocol_arguments(parser: argparse.ArgumentParser, *, groups: str | None = None,
                           selection: str = "val-split", swap: float = 0.0) -> None:
    """Model selection and augmentation options.

    ``--selection``: ``val-split`` (best epoch, ARRN alpha and stepwise steps on a stratified ``--val-fraction``
    of the training split), ``inner-cv`` (epoch budget and alpha by inner cross-validation over the
    ``--cv-groups`` of the training split, then the whole training split trained for that budget and its last
    epoch tested) or ``none`` (the whole training split, ``--epochs``, last epoch). ``groups``: the default
    sample attribute of the inner folds (SBU: ``fold``, MSR Action3D: ``subject``). Augmentation (training
    only): ``--swap``, ``--rotate``, ``--random-scale``, ``--noise``; ``--velocity`` adds motion channels (train
    and test). ``--no-monitor-test`` skips the per-epoch test evaluation (logged, optimistic, selects nothing).
    """
    p = parser
    p.add_argument("--selection", choices=["val-split", "inner-cv", "none"], default=selection,
                   help="how the epoch budget (and ARRN's alpha) are chosen, always on training data: a validation "
                        "split, inner cross-validation over --cv-groups, or nothing (last of --epochs)")
    p.add_argument("--cv-groups", default=groups,
                   help="sample attribute whose values are the inner folds of --selection inner-cv")
    p.add_argument("--cv-folds", type=int, default=None,
                   help="inner-cv: deal the groups into this many inner folds (default: one fold per group)")
    p.add_argument("--smooth", type=int, default=5,
                   help="inner-cv: epochs of the moving average over the mean validation curve")
    p.add_argument("--ema", type=float, default=0.0, metavar="EPOCHS",
                   help="evaluate, select and keep an exponential moving average of the weights with this time "
                        "constant in epochs (0: the raw weights of the last or best epoch)")
    p.add_argument("--swap", type=float, default=swap, help="probability of swapping the two people (training)")
    p.add_argument("--rotate", type=float, default=0.0,
                   help="random rotation about the vertical axis, +- degrees (training)")
    p.add_argument("--random-scale", type=float, nargs=2, default=None, metavar=("LOW", "HIGH"),
                   help="random scale factor range (training)")
    p.add_argument("--noise", type=float, default=0.0,
                   help="Gaussian coordinate noise, in units of the coordinates' standard deviation (training)")
    p.add_argument("--frame-sampling", choices=["random", "segment"], default="random",
                   help="how training draws its T frames: any T in order (random), or one from each of T equal "
                        "segments (segment); evaluation takes evenly spaced frames")
    p.add_argument("--center", choices=list(CENTERS), default="frame",
                   help="centre every frame on its own body centre (frame: ARRN-LSTM Section 4.1's reading), or on "
                        "the first frame's, keeping the body's path through space (sequence)")
    p.add_argument("--velocity", action=argparse.BooleanOptionalAction, default=False,
                   help="append each joint's frame-to-frame displacement as channels (not in the papers)")
    p.add_argument("--no-monitor-test", action="store_true",
                   help="do not evaluate the test split after every epoch (its curve is logged, optimistic, "
                        "and chooses nothing)")
    p.add_argument("--paper-setting", action="store_true",
                   help="the paper's stated training protocol (optimiser, schedule, no augmentation, best epoch on "
                        "a validation split) instead of the recipe's defaults; explicit options still win")
    p.add_argument("--lr-decay", type=float, default=None,
                   help="multiply the learning rate by this every epoch (1: constant; default: the recipe's)")
    p.add_argument("--cosine", action="store_true",
                   help="anneal the learning rate from --lr to 0 along a half cosine over --epochs (per epoch; not "
                        "in the papers); --selection inner-cv then keeps --epochs as the budget")
    p.add_argument("--grad-clamp", type=float, default=None,
                   help="clamp every gradient element to +- this value (the GCA-LSTM authors' code: 5-8)")
    p.add_argument("--rmsprop-alpha", type=float, default=0.95,
                   help="RMSprop smoothing constant with --optimizer rmsprop (the authors' 'decay rate' 0.95)")


#: What the GCA-LSTM paper states about training (Section V: SGD, learning rate 1.5e-3, decay rate 0.95,
#: momentum 0.9 in the recipes' optimiser settings) plus no augmentation and the best epoch on a validation split.
GCA_PAPER_SETTING: dict[str, Any] = dict(optimizer="sgd", lr=1.5e-3, lr_decay=0.95, selection="val-split", swap=0.0,
                                         rotate=0.0, random_scale=None, noise=0.0, velocity=False, ema=0.0,
                                         frame_sampling="random", cosine=False, grad_clip=None, center="frame")
#: What the ARRN-LSTM paper states for the small datasets (Section 4.1: Adam; alpha on a validation set).
ARRN_PAPER_SETTING: dict[str, Any] = dict(optimizer="adam", lr=1e-3, lr_decay=1.0, selection="val-split", swap=0.0,
                                          rotate=0.0, random_scale=None, noise=0.0, velocity=False, ema=0.0,
                                          frame_sampling="random", grad_clip=None, readout="last_valid",
                                          cosine=False, center="frame")


#: Defaults of the GCA recipes on the small datasets (SBU, UTKinect), chosen on training data only (SBU fold 0's
#: inner cross-validation over its four training folds, bench/results/accuracy/experiments.md): Adam at a constant
#: 1e-3, direct training, 60 epochs, and an exponential moving average of the weights with a 10-epoch time
#: constant whose last epoch is tested (``--selection none``). Its inner-CV value at the last epoch (92.1 %)
#: equals the best budget's (92.3 %) where the raw weights' best budget reached 89.9 %, so choosing the budget by
#: inner cross-validation (five runs per fold) bought nothing.
GCA_SMALL_DATA_DEFAULTS: dict[str, Any] = dict(optimizer="adam", lr_decay=1.0, training="direct", selection="none",
                                               ema=10.0)

#: Epoch budget of the plain ST-LSTM baseline (``--model st-lstm``) under :data:`GCA_SMALL_DATA_DEFAULTS` when
#: ``--epochs`` is not given. ST-LSTM learns far more slowly than GCA-LSTM (training loss 0.94 at epoch 60 where
#: GCA-LSTM's is 0.01). SBU fold 0's inner cross-validation over its four training folds (the 10-epoch weight
#: average, lr 1e-3) first ran 240 epochs (screen_sbu_stlstm_f0_e240_lr1e-3.json: 57 % at epoch 60, 86.3 % at 224,
#: not yet turning down), then 400 (bench/results/accuracy/screen_sbu_stlstm_f0_e400.json): the smoothed mean
#: curve is 85.5 % at epoch 240 and peaks at 90.9 % at epoch 300, then stays at 87.0-90.8 % up to epoch 400 while
#: the training loss falls further (0.52 at 240, 0.40 at 400). The budget is that peak.
ST_LSTM_EPOCHS = 300
#: Epoch budget of ST-LSTM + Global (2) (``--model global2``) under :data:`GCA_SMALL_DATA_DEFAULTS` when ``--epochs``
#: is not given: SBU fold 0's inner cross-validation with the norm clipped at :data:`GLOBAL2_GRAD_CLIP` (240 epochs,
#: screen_sbu_global2_f0_e240_clip5.json) peaks at its last epoch, 90.5 %. Not screened beyond 240.
GLOBAL2_EPOCHS = 240
#: Epoch budget of the slowly learning ST-LSTM baselines with the trust gate (``--trust-gate``) under
#: :data:`GCA_SMALL_DATA_DEFAULTS` when ``--epochs`` is not given. The gate slows learning further (SBU fold 0's
#: training loss 0.69 at epoch 240, 0.36 without it). SBU fold 0's inner cross-validation over its four training
#: folds (the 10-epoch weight average, lr 1e-3, 320 epochs, bench/results/accuracy/screen_sbu_stlstm_trust_f0_e320.json)
#: rose from 83.8 % at epoch 240 to 90.7 % at epoch 314, so the budget is the whole screened 320 epochs. Screened
#: again to 480 epochs (screen_sbu_stlstm_trust_f0_e480.json): the curve stays on an 87-91 % plateau from epoch 300
#: on while the training loss keeps falling, and its peak is still epoch 314. Screened for ``st-lstm``; ``global2``
#: with the gate takes it too, unscreened.
TRUST_GATE_EPOCHS = 320
#: Training sequences of one SBU fold (217-230, mean 225.6 over the five folds): the training-set size that
#: :data:`SLOW_ST_LSTM_EPOCHS` and :data:`TRUST_GATE_EPOCHS` were chosen at (batch 8). A smaller training split gets
#: proportionally more epochs, the same number of optimiser steps (:func:`same_steps`).
SBU_TRAIN_SEQUENCES = 226
#: The slowly learning ST-LSTM baselines and their epoch budgets: ST-LSTM and ST-LSTM + Global (2), whose training
#: losses on SBU fold 0's training split are both still about 0.94 at epoch 60. ST-LSTM + Global (1)
#: (concatenation + FC) is at 0.05-0.14 by then, like GCA-LSTM, and keeps the recipe's 60
#: (bench/results/accuracy/experiments.md, 2026-12-02).
SLOW_ST_LSTM_EPOCHS: dict[str, int] = {"st-lstm": ST_LSTM_EPOCHS, "global2": GLOBAL2_EPOCHS}
SLOW_ST_LSTM_MODELS = tuple(SLOW_ST_LSTM_EPOCHS)
#: Gradient-norm clipping of ST-LSTM + Global (2) (``--model global2``) under :data:`GCA_SMALL_DATA_DEFAULTS` when
#: ``--grad-clip`` is not given. Unclipped, its training loss jumps again and again (13-18 times per SBU run, 0-6 for
#: the other models): each jump follows a single step whose norm is 20-180 times the median of about 4.2
#: (bench/results/accuracy/probe_sbu_global2_f0_gradnorm.txt), and two SBU test folds scored 60.0 and 73.1 %.
#: SBU fold 0's inner cross-validation (four training folds, the 10-epoch weight average, 240 epochs) gave 90.5 %
#: at the last epoch with the norm clipped at 5 (screen_sbu_global2_f0_e240_clip5.json); without clipping its first
#: two inner folds ended at 77 and 75 % where the clipped ones ended at 94 and 95 %, so even perfect scores on the
#: other two could not have reached 90.5 % (stopped/screen_sbu_global2_f0_e240.part0-1.json). The other models keep
#: no clipping. The plain ST-LSTM's loss jumps too, late in long runs, but clipped at 5 its inner cross-validation
#: peaked lower and earlier (89.6 % at epoch 169, screen_sbu_stlstm_f0_e300_clip5.json) than unclipped (91.0 % at
#: epoch 300 over the same epochs).
GLOBAL2_GRAD_CLIP = 5.0

#: Defaults of the ARRN recipes on the small datasets (MSR Action3D, UTKinect, Florence 3D), chosen on training data
#: only (MSR Action3D AS2's inner leave-one-subject-out cross-validation over its five training subjects,
#: bench/results/accuracy/experiments.md): Adam at a constant 1e-3, joint velocities as extra channels, the gradient
#: norm clipped at 5 (about the median norm: single steps reached 5-15 times it and threw the training loss back),
#: 100 epochs (the inner-CV budget of the 10-epoch weight average with clipping, 97 epochs at 87.4 %; without
#: clipping the curve rose more slowly and peaked at 180 epochs, 86.2 %), the weight average's last epoch tested
#: (``--selection none``) and alpha fixed at 0.5 (the pooled inner validation chose 0.25-0.5). ARRN-LSTM on MSR
#: stays unstable late in training (raw last epochs up to 33 points below the best, with or without clipping), so
#: the budget matters more than for GCA-LSTM: ``--selection inner-cv`` re-chooses it.
ARRN_SMALL_DATA_DEFAULTS: dict[str, Any] = dict(optimizer="adam", lr_decay=1.0, selection="none", ema=10.0,
                                                velocity=True, grad_clip=5.0, epochs=100)


def apply_paper_setting(args: argparse.Namespace, **setting: Any) -> None:
    """With ``--paper-setting``, the paper's stated training protocol: every option in ``setting`` that the user
    did not set (on the command line or in ``--config``) takes the paper's value. Recipes pass what their paper
    states (e.g. GCA-LSTM: SGD, lr 1.5e-3, decay 0.95 per epoch, momentum 0.9, best epoch on a validation
    split); options the paper leaves open keep the recipe's defaults."""
    if not getattr(args, "paper_setting", False):
        return
    from skelgraph.training.experiment import given_options

    given = given_options(args)
    for key, value in setting.items():
        if key not in given:
            setattr(args, key, value)


def same_steps(epochs: int, train_sequences: int, reference: int = SBU_TRAIN_SEQUENCES) -> int:
    """The epochs that give a training split of ``train_sequences`` the optimiser steps that ``epochs`` give one
    of ``reference`` sequences at the same batch size (rounded up)."""
    if train_sequences <= 0:
        raise ValueError(f"train_sequences must be positive, got {train_sequences}")
    return math.ceil(epochs * reference / train_sequences)


def resolve_gca_small_data(args: argparse.Namespace, train_sequences: int = SBU_TRAIN_SEQUENCES) -> None:
    """The GCA recipes' step from options to settings on the small datasets (SBU, UTKinect), for
    :func:`~skelgraph.training.experiment.parse_recipe_args`: the slowly learning ST-LSTM baselines train for
    :data:`SLOW_ST_LSTM_EPOCHS` (ST-LSTM 300, Global (2) 240), with ``--trust-gate`` :data:`TRUST_GATE_EPOCHS`,
    unless ``--epochs`` is given, and ``global2`` clips the gradient norm at :data:`GLOBAL2_GRAD_CLIP` unless
    ``--grad-clip`` is given; then ``--paper-setting`` (:data:`GCA_PAPER_SETTING`, no clipping). These were chosen
    on SBU's training folds; UTKinect takes them unscreened (no UTKinect files here), as it takes SBU's other
    defaults. The ST-LSTM budgets are optimiser steps, not epochs: a dataset whose training split holds
    ``train_sequences`` sequences trains them for :func:`same_steps` epochs. Trained on half of SBU fold 0's
    training folds (121 sequences), ST-LSTM's training loss at epoch 240 (0.79) was where the whole split's is at
    epoch 100-120, and its averaged validation accuracy was still rising (78.6 % at epoch 240, 80-83 % at 340-360).
    GCA-LSTM's 60 epochs stay epochs: on the half split its training loss reached 0.01 by epoch 60 as on the whole
    one, and its averaged validation accuracy was flat from epoch 40 to 100 (88-91 %) and lower at 120-160
    (bench/results/accuracy/experiments.md, 2026-12-05)."""
    from skelgraph.training.experiment import given_options

    given = given_options(args)
    if args.model in SLOW_ST_LSTM_MODELS and "epochs" not in given:
        budget = TRUST_GATE_EPOCHS if args.trust_gate else SLOW_ST_LSTM_EPOCHS[args.model]
        args.epochs = same_steps(budget, train_sequences)
    if args.model == "global2" and "grad_clip" not in given:
        args.grad_clip = GLOBAL2_GRAD_CLIP
    apply_paper_setting(args, **GCA_PAPER_SETTING)


def resolve_arrn_small_data(args: argparse.Namespace) -> None:
    """The ARRN recipes' step from options to settings on the small datasets, for
    :func:`~skelgraph.training.experiment.parse_recipe_args`: ``--paper-setting`` (:data:`ARRN_PAPER_SETTING`)."""
    apply_paper_setting(args, **ARRN_PAPER_SETTING)


def optimiser_settings(args: argparse.Namespace, paper: dict[str, Any]) -> dict[str, Any]:
    """The recipe's :class:`~skelgraph.training.TrainConfig` optimiser fields (``paper``) with the
    ``--lr-decay``, ``--cosine``, ``--grad-clamp`` and ``--rmsprop-alpha`` options applied."""
    settings = dict(paper)
    decay = getattr(args, "lr_decay", None)
    if decay is not None:
        settings.update(schedule="exponential" if decay != 1.0 else "none", lr_decay=decay)
    if getattr(args, "cosine", False):
        if settings.get("schedule", "none") != "none":
            raise SystemExit(f"--cosine replaces the learning-rate schedule, but this run also has a "
                             f"{settings['schedule']} one (--lr-decay {settings.get('lr_decay')}): give "
                             "--lr-decay 1 with --cosine")
        settings["schedule"] = "cosine"
    if getattr(args, "grad_clamp", None):
        settings["grad_clamp"] = args.grad_clamp
    if hasattr(args, "rmsprop_alpha"):
        settings["rmsprop_alpha"] = args.rmsprop_alpha
    return settings


@dataclass
class RecipeSplits:
    """What :func:`prepare_splits` returns: the pipeline spec stored in checkpoints, the training subset (with
    the training transform) and the validation subset (evaluation transform; ``None`` without one)."""

    pipeline: dict[str, Any]
    train: Any
    val: Any | None


def recipe_pipeline(args: argparse.Namespace, train: Any) -> dict[str, Any]:
    """The pipeline spec of the options: centre, scale to unit variance (``1 / std`` of ``train``'s centred
    coordinates), ``args.T`` frames, stacked bodies with ``--bodies stacked``, velocity, the confidence score as
    a channel (``args.score_channel``, set by ``python -m skelgraph.train --score-channel``) and augmentation."""
    layout = train.layout
    stack = STACKED_BODIES if getattr(args, "bodies", "separate") == "stacked" else 0
    augment = {"swap": getattr(args, "swap", 0.0), "rotate": (0.0, getattr(args, "rotate", 0.0), 0.0),
               "scale": getattr(args, "random_scale", None), "noise": getattr(args, "noise", 0.0)}
    center = getattr(args, "center", "frame")
    return pipeline_spec(layout, args.T, scale=coordinate_scale(train, layout, per_frame=center == "frame"),
                         stack_bodies=stack, velocity=getattr(args, "velocity", False), augment=augment,
                         sampling=getattr(args, "frame_sampling", "random"), center=center,
                         score=getattr(args, "score_channel", False))


def prepare_splits(args: argparse.Namespace, train_full: Any, test: Any) -> RecipeSplits:
    """Set the recipe pipeline (:func:`recipe_pipeline`) on both splits and, with ``--selection val-split``,
    carve a stratified validation subset of ``args.val_fraction`` of every class from the training split
    (``args.seed`` picks it). The test split chooses nothing."""
    spec = recipe_pipeline(args, train_full)
    train_full.transform = build_transform(spec, train=True)
    test.transform = build_transform(spec)
    fraction = args.val_fraction if getattr(args, "selection", "val-split") == "val-split" else 0.0
    tr, va = stratified_split(dataset_labels(train_full), fraction, args.seed)
    val = subset(train_full, va, build_transform(spec)) if va else None
    return RecipeSplits(spec, subset(train_full, tr), val)


class _StreamLogits:
    """Trainer callback: the ARRN per-stream validation logits of every epoch (for alpha after inner CV)."""

    def __init__(self, val: Any) -> None:
        self.val, self.epochs = val, []

    def __call__(self, trainer: Any, record: dict[str, Any]) -> None:
        self.epochs.append(stream_scores(trainer, self.val))


def inner_cv(args: argparse.Namespace, train_full: Any, build: Callable[[dict[str, Any]], Any],
             paper: dict[str, Any], *, two_streams: bool = False) -> dict[str, Any]:
    """Choose the epoch budget (and, ``two_streams``, ARRN's alpha) on the training split alone.

    Every value of the ``args.cv_groups`` attribute is held out once: a model built by ``build(pipeline)`` is
    trained on the other groups for ``args.epochs`` epochs (pipeline scale from those groups only, no files
    written) and validated after every epoch. The epoch budget is where the validation accuracy, averaged over
    the groups (weighted by their sizes) and smoothed over ``args.smooth`` epochs, peaks; alpha is chosen on the
    pooled validation scores of that epoch. Returns the choice with every curve.
    """
    from skelgraph.nn.arrn import select_alpha
    from skelgraph.training.engine import Trainer
    from skelgraph.training.selection import choose_epoch, dataset_attribute, group_splits

    if not args.cv_groups:
        raise SystemExit("--selection inner-cv needs --cv-groups (a sample attribute such as subject or fold)")
    groups = dataset_attribute(train_full, args.cv_groups)
    curves, sizes, logits, held_out = [], [], [], []
    for group, tr, va in group_splits(groups, getattr(args, "cv_folds", None)):
        seed_everything(args.seed)
        inner_train = subset(train_full, tr)
        spec = recipe_pipeline(args, inner_train)
        inner_train.transform = build_transform(spec, train=True)
        inner_val = subset(train_full, va, build_transform(spec))
        model = build(spec)
        collect = _StreamLogits(inner_val) if two_streams else None
        config = train_config(args, save_checkpoints=False, **paper)
        trainer = Trainer(model, inner_train, inner_val, config, class_names=list(train_full.class_names),
                          callbacks=[collect] if collect else ())
        trainer.fit()
        curve = [h["val_top1"] for h in trainer.state.history]
        shown = ",".join(map(str, group))
        print(f"inner fold {args.cv_groups}={shown}: {len(tr)} train / {len(va)} val, best val top-1 "
              f"{max(curve):.2%} at epoch {curve.index(max(curve)) + 1}, last {curve[-1]:.2%}")
        curves.append(curve)
        sizes.append(len(va))
        held_out.append(list(group))
        if collect:
            logits.append(collect.epochs)
    # A cosine schedule spans --epochs: its epoch e is not a run of e epochs, so the budget stays --epochs.
    choice = choose_epoch(curves, sizes, args.smooth, last=paper.get("schedule") == "cosine")
    out = {"method": "inner-cv", "groups": args.cv_groups, "held_out": held_out, "sizes": sizes,
           "epoch": choice["epoch"], "value": choice["value"], "curves": curves, "mean_curve": choice["mean_curve"]}
    if two_streams:
        import torch

        at = [g[choice["epoch"] - 1] for g in logits]
        out["alpha"] = select_alpha(torch.cat([a[0] for a in at]), torch.cat([a[1] for a in at]),
                                    torch.cat([a[2] for a in at]))
    print(f"inner cross-validation over {len(curves)} {args.cv_groups} groups: epoch budget {out['epoch']} "
          f"(smoothed mean validation top-1 {choice['value']:.2%})"
          + (f", alpha {out['alpha']:.2f}" if "alpha" in out else ""))
    return out


def _train_and_test(args: argparse.Namespace, train_full: Any, test: Any, out: str | None,
                    dataset_meta: dict[str, Any], build: Callable[[dict[str, Any]], tuple[Any, dict[str, Any]]],
                    paper: dict[str, Any], *, save_checkpoints: bool, two_streams: bool = False,
                    stepwise: bool = False) -> dict[str, Any]:
    """The run every recipe shares: selection (``--selection``), training, test, files."""
    import copy

    paper = optimiser_settings(args, paper)

    selection = getattr(args, "selection", "val-split")
    chosen: dict[str, Any] | None = None
    if stepwise and selection == "inner-cv":
        raise SystemExit("stepwise training moves between steps on a validation split (--selection val-split: "
                         "Algorithm 1) or after a fixed number of epochs per step (--selection none); inner "
                         "cross-validation does not choose its schedule: use one of those or --training direct")
    if stepwise and selection == "val-split" and args.val_fraction <= 0:
        raise SystemExit("stepwise training on a validation split (Algorithm 1) needs --val-fraction > 0 "
                         "(or --selection none: a fixed number of epochs per step)")
    if selection == "inner-cv":
        chosen = inner_cv(args, train_full, lambda spec: build(spec)[0], paper, two_streams=two_streams)
        args = copy.copy(args)
        args.epochs = chosen["epoch"]
    splits = prepare_splits(args, train_full, test)
    model, meta_model = build(splits.pipeline)
    val = splits.val
    after = None
    fixed_alpha = getattr(args, "alpha", None)
    if two_streams and fixed_alpha is not None:
        def after(trainer: Any) -> dict[str, Any]:
            trainer.model.set_alpha(fixed_alpha)
            return {"alpha": fixed_alpha}
    elif two_streams and chosen is not None:
        def after(trainer: Any) -> dict[str, Any]:
            trainer.model.set_alpha(chosen["alpha"])
            return {"alpha": chosen["alpha"]}
    elif two_streams and val is not None:
        def after(trainer: Any) -> dict[str, Any]:
            return select_fusion_weight(trainer, val)
    elif two_streams:  # nothing to choose alpha on: the model's own (0.5 unless built otherwise)
        def after(trainer: Any) -> dict[str, Any]:
            return {"alpha": float(trainer.model.alpha)}
    meta = {"model": meta_model, "pipeline": splits.pipeline, "dataset": dataset_meta, "selection": selection}
    if hasattr(args, "training"):  # the GCA recipes
        meta["training"] = "stepwise" if stepwise else "direct"
    if stepwise:
        config = gca_train_config(args, True, save_checkpoints=save_checkpoints, **paper)
    else:
        config = train_config(args, save_checkpoints=save_checkpoints, **paper)
    result = run_experiment(model, splits.train, val, test, config, out, class_names=list(train_full.class_names),
                            layout=train_full.layout, meta=meta, resume=args.resume,
                            override=getattr(args, "override", False), after_training=after,
                            monitor_test=not getattr(args, "no_monitor_test", True))
    if chosen is not None:
        result["selection"] = chosen
        if out is not None:
            Path(out, "selection.json").write_text(json.dumps(chosen, indent=1))
    report(result, out)
    return result


def train_arrn(args: argparse.Namespace, preset: str, train_full: Any, test: Any, out: str | None,
               dataset_meta: dict[str, Any], *, save_checkpoints: bool = True, **paper: Any) -> dict[str, Any]:
    """Build (:func:`build_arrn_model` on ``preset``, ``in_channels`` from the pipeline: the layout's coordinates,
    with ``--velocity`` their displacements too), train and test ARRN-LSTM on a dataset's splits. The best
    epoch and, with two streams, ``alpha`` of Eq. (12) are chosen on training data (``--selection``).
    ``paper`` are :class:`~skelgraph.training.TrainConfig` fields (the optimiser and schedule). ``out=None`` with
    ``save_checkpoints=False`` writes nothing (folds of a leave-one-out protocol). Returns the run's metrics."""
    K = len(train_full.class_names)

    def build(spec: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        if spec.get("stack_bodies"):
            raise SystemExit("the ARRN recipes run every body on its own (no stacked bodies): their line features "
                             "are between the joints of one body")
        model = build_arrn_model(args, preset, K, num_joints=train_full.layout.num_joints,
                                 in_channels=pipeline_channels(spec))
        return model, model_spec(model)

    return _train_and_test(args, train_full, test, out, dataset_meta, build, paper, save_checkpoints=save_checkpoints,
                           two_streams=STREAM_CHOICES[args.stream] == ("joint", "line"))


def gca_train_config(args: argparse.Namespace, stepwise: bool, **paper: Any) -> Any:
    """The :class:`~skelgraph.training.TrainConfig` of a GCA recipe: the recipe's optimiser settings
    (``paper``), stepwise or direct, the per-step bound of ``--stepwise-max-epochs``."""
    bound = args.stepwise_max_epochs
    if bound is None:
        bound = math.ceil(args.epochs / (args.N + 1))
    if stepwise and not bound and getattr(args, "selection", "val-split") != "val-split":
        raise SystemExit("stepwise training without a validation split (--selection none) moves on after "
                         "--stepwise-max-epochs epochs per step: give it a positive value (0 means no bound)")
    return train_config(args, stepwise=stepwise, stepwise_patience=args.stepwise_patience,
                        stepwise_max_epochs=bound or None, **paper)


def train_gca(args: argparse.Namespace, train_full: Any, test: Any, out: str | None, dataset_meta: dict[str, Any],
              *, save_checkpoints: bool = True, **paper: Any) -> dict[str, Any]:
    """Build the ``--model`` of :func:`add_gca_arguments`, train it directly or stepwise (Algorithm 1) and test
    it; the best epoch is chosen on training data (``--selection``). ``paper``:
    :class:`~skelgraph.training.TrainConfig` fields of the recipe's optimiser (e.g. ``optimizer="adam",
    schedule="exponential", lr_decay=0.95``). Returns the run's metrics."""
    K = len(train_full.class_names)

    def build(spec: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        model, kwargs = build_gca_model(args, train_full.layout, K, pipeline_channels(spec))
        return model, model_spec(model, **kwargs)

    stepwise = args.training == "stepwise" and args.model in ("gca", "gca2")
    return _train_and_test(args, train_full, test, out, dataset_meta, build, paper, save_checkpoints=save_checkpoints,
                           stepwise=stepwise)


def report(result: dict[str, Any], out: str | None) -> None:
    """One line per run: test top-1 / top-5, alpha, stepwise step reached, epochs, time and run folder."""
    test = result.get("test")
    line = f"test top-1 {test['top1']:.2%}, top-5 {test.get('top5', float('nan')):.2%} " if test else ""
    extra = f"alpha {result['alpha']:.2f}, " if "alpha" in result else ""
    if "stepwise_reached" in result:
        extra += f"stepwise step {result['stepwise_reached']} of {result['num_iterations']}, "
    where = f" -> {out}" if out else ""
    print(f"{line}({extra}{result['epochs']} epochs, {result['train_seconds']:.0f} s){where}")


def run_folds(run: Callable[[Any], dict[str, Any]], folds: Sequence[Any], *, label: str, out: str,
              seed: int) -> dict[str, Any]:
    """Run every fold (or subset) and summarise the test results in ``out/summary.json``.

    Every fold starts from ``seed_everything(seed)``, so fold ``k`` gives the same result whether it runs alone
    (``--folds k``) or after others. The summary holds the mean and spread of the per-fold top-1, the pooled
    accuracy over all test samples (what leave-one-out reports: every fold tests one sample) and each fold's
    test metrics (with ``stepwise_reached`` / ``alpha`` where the run chose them).
    """
    results, wall = {}, {}
    for fold in folds:
        seed_everything(seed)
        started = time.perf_counter()
        results[str(fold)] = run(fold)
        wall[str(fold)] = time.perf_counter() - started  # selection (inner cross-validation) included
    top1 = [r["test"]["top1"] for r in results.values()]
    summary = fold_summary(top1)
    samples = sum(r["test"]["samples"] for r in results.values())
    correct = sum(round(r["test"]["top1"] * r["test"]["samples"]) for r in results.values())
    summary["pooled_top1"] = correct / samples if samples else math.nan
    summary["samples"] = samples
    if len(results) <= 12:
        detail = ", ".join(f"{k}: {v:.2%}" for k, v in zip(results, top1))
    else:
        detail = f"{len(results)} folds"
    print(f"{label}: mean top-1 {summary['mean']:.2%} ± {summary['std']:.2%} over {summary['n']}, pooled "
          f"{summary['pooled_top1']:.2%} of {samples} test samples ({detail})")
    keep = ("alpha", "stepwise_reached", "best_epoch", "epochs", "optimistic_best_test", "selection", "train_seconds")
    per_fold = {k: dict(r["test"], wall_seconds=wall[k], **{key: r[key] for key in keep if key in r})
                for k, r in results.items()}
    out_summary = {"summary": summary, "per_fold": per_fold}
    Path(out).mkdir(parents=True, exist_ok=True)
    with open(osp.join(out, "summary.json"), "w") as f:
        json.dump(out_summary, f, indent=2)
    return out_summary


# ------------------------------------------------------------------------------------------------ NTU
NTU_MISSING = """\
The full NTU RGB+D skeleton set is not in {full}.
NTU RGB+D is released by the ROSE Lab of Nanyang Technological University after registration
(https://rose1.ntu.edu.sg/dataset/actionRecognition/): download nturgbd_skeletons_s001_to_s017.zip (NTU
RGB+D 60; add nturgbd_skeletons_s018_to_s032.zip for NTU RGB+D 120), unpack every .skeleton file into that
folder (or pass --data-root / set SKELGRAPH_DATA), and run this command again to train the paper's
configuration. Meanwhile it runs the whole pipeline (parse, train, evaluate, plots) on the five genuine
samples bundled in {samples}: a demonstration that everything works, not an accuracy figure (the test
split's classes never occur in the three training samples).
"""


def add_ntu_arguments(parser: argparse.ArgumentParser) -> None:
    """``--dataset ntu60/ntu120`` and ``--benchmark xsub/xview/xset``."""
    parser.add_argument("--dataset", choices=["ntu60", "ntu120"], default="ntu60")
    parser.add_argument("--benchmark", choices=["xsub", "xview", "xset"], default="xsub",
                        help="xsub and xview for NTU60, xsub and xset for NTU120")


def _ntu_root(args: argparse.Namespace) -> tuple[Any, str]:
    """The dataset class of ``args.dataset`` and its data root (``--data-root`` or the default)."""
    from skelgraph.datasets.base import default_root
    from skelgraph.datasets.ntu import NTU60, NTU120

    cls = NTU60 if args.dataset == "ntu60" else NTU120
    return cls, args.data_root or default_root(cls.folder)


def ntu_full(args: argparse.Namespace) -> bool:
    """Whether the full NTU set of ``args.dataset`` is under the data root (otherwise the recipes run their
    demonstration on the bundled samples)."""
    from skelgraph.datasets.ntu import FULL_DIR

    return osp.isdir(osp.join(_ntu_root(args)[1], "raw", FULL_DIR))


def resolve_ntu_demo(args: argparse.Namespace, **demo: Any) -> None:
    """The NTU recipes' step from options to settings, for :func:`~skelgraph.training.experiment.parse_recipe_args`:
    without the full set (:func:`ntu_full`) the run is a demonstration on the bundled samples, with no validation
    split (too few samples) and ``demo``'s values for the options the user did not give (on the command line or in
    ``--config``), so that ``--print-config`` shows them."""
    if ntu_full(args):
        return
    from skelgraph.training.experiment import given_options

    args.val_fraction = 0.0
    given = given_options(args)
    for key, value in demo.items():
        if key not in given:
            setattr(args, key, value)


def ntu_splits(args: argparse.Namespace) -> tuple[Any, Any, bool]:
    """NTU train and test splits of ``args.dataset`` / ``args.benchmark`` and whether the full set is there.
    Without it, explains where to get it and uses the bundled samples (no validation split: too few)."""
    from skelgraph.datasets.ntu import FULL_DIR, SAMPLES_DIR

    cls, root = _ntu_root(args)
    full = ntu_full(args)
    if not full:
        print(NTU_MISSING.format(full=osp.join(root, "raw", FULL_DIR), samples=osp.join(root, "raw", SAMPLES_DIR)))
        args.val_fraction = 0.0
    return cls(root, benchmark=args.benchmark, split="train"), cls(root, benchmark=args.benchmark, split="test"), full


# ------------------------------------------------------------------------------------------------ UTKinect
#: Training sequences per UTKinect protocol in the full release (199 clips): cross-subject about 100 (five subjects,
#: ten actions, two recordings), leave-one-sequence-out 198. The GCA recipe gives the ST-LSTM baselines the optimiser
#: steps of SBU's budgets with them (:func:`same_steps`); nominal, known before any file is read (``--print-config``).
UTKINECT_TRAIN_SEQUENCES: dict[str, int] = {"xsub": 100, "loso": 198}


def add_utkinect_arguments(parser: argparse.ArgumentParser) -> None:
    """``--protocol xsub/loso``, ``--folds``, ``--save-fold-runs``."""
    parser.add_argument("--protocol", choices=["loso", "xsub"], default="xsub",
                        help="cross-subject (odd subjects train), or leave-one-sequence-out (one fold per clip)")
    parser.add_argument("--folds", type=int, nargs="*", default=None, help="folds to run (default: all)")
    parser.add_argument("--save-fold-runs", action="store_true",
                        help="leave-one-out: write every fold's run folder (checkpoints, plots); by default the "
                             "folds keep their best weights in memory and only summary.json is written")


def utkinect_folds(args: argparse.Namespace) -> tuple[list[int], bool]:
    """The folds of ``args.protocol`` (``--folds`` or all) and whether they run lean (leave-one-out without
    ``--save-fold-runs``: no per-fold files)."""
    from skelgraph.datasets.utkinect import UTKinect

    if args.folds:
        folds = list(args.folds)
    elif args.protocol == "xsub":
        folds = [0]
    else:
        folds = list(range(len(UTKinect(args.data_root, protocol="loso").folds)))
    return folds, args.protocol == "loso" and not args.save_fold_runs
