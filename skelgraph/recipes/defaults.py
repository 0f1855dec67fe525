"""Every recipe's defaults, in one place: its whole default configuration, the rules for defaults that depend on
other choices (the slow ST-LSTM baselines' budgets, Global (2)'s clipping), and the papers' stated protocols
(``--paper-setting``). ``recipes/configs/`` holds the configuration of every accuracy row these give
(``python -m skelgraph.recipes.defaults`` rewrites those files; a test checks they are current)."""

from __future__ import annotations

import math
from typing import Any

from skelgraph.recipes.cli import set_unless_given
from skelgraph.recipes.config import RecipeConfig
from skelgraph.recipes.protocols import UTKINECT_TRAIN_SEQUENCES
from skelgraph.recipes.sections import ARRNOptions, GCAOptions, Optimisation, Protocol, RunOptions

#: What the GCA-LSTM paper states about training (Section V: SGD, learning rate 1.5e-3, decay 0.95 per epoch,
#: momentum 0.9) plus no augmentation and the best epoch on a validation split.
GCA_PAPER_SETTING: dict[str, dict[str, Any]] = {
    "optim": dict(optimizer="sgd", lr=1.5e-3, momentum=0.9, schedule="exponential", lr_decay=0.95, ema=0.0,
                  cosine=False, grad_clip=None),
    "protocol": dict(selection="val-split", swap=0.0, rotate=0.0, random_scale=None, noise=0.0, velocity=False,
                     frame_sampling="random", center="frame"),
}
#: What the ARRN-LSTM paper states for the small datasets (Section 4.1: Adam; alpha on a validation set).
ARRN_PAPER_SETTING: dict[str, dict[str, Any]] = {
    "optim": dict(optimizer="adam", lr=1e-3, schedule="none", lr_decay=1.0, ema=0.0, cosine=False, grad_clip=None,
                  adam_beta2=0.999),  # "with PyTorch": torch's Adam as it comes
    "protocol": dict(selection="val-split", swap=0.0, rotate=0.0, random_scale=None, noise=0.0, velocity=False,
                     frame_sampling="random", center="frame"),
    "model": dict(readout="last_valid"),
}

#: Epoch budget of the plain ST-LSTM baseline (``--model st-lstm``) on the small datasets when ``--epochs`` is not
#: given. ST-LSTM learns far more slowly than GCA-LSTM (training loss 0.94 at epoch 60 where GCA-LSTM's is 0.01).
#: SBU fold 0's inner cross-validation over its four training folds (the 10-epoch weight average, lr 1e-3) first ran
#: 240 epochs (screen_sbu_stlstm_f0_e240_lr1e-3.json: 57 % at epoch 60, 86.3 % at 224, not yet turning down), then
#: 400 (bench/results/accuracy/screen_sbu_stlstm_f0_e400.json): the smoothed mean curve is 85.5 % at epoch 240 and
#: peaks at 90.9 % at epoch 300, then stays at 87.0-90.8 % up to epoch 400 while the training loss falls further
#: (0.52 at 240, 0.40 at 400). The budget is that peak.
ST_LSTM_EPOCHS = 300
#: Epoch budget of ST-LSTM + Global (2) (``--model global2``) on the small datasets when ``--epochs`` is not given:
#: SBU fold 0's inner cross-validation with the norm clipped at :data:`GLOBAL2_GRAD_CLIP` (240 epochs,
#: screen_sbu_global2_f0_e240_clip5.json) peaks at its last epoch, 90.5 %. Not screened beyond 240.
GLOBAL2_EPOCHS = 240
#: Epoch budget of the slowly learning ST-LSTM baselines with the trust gate (``--trust-gate``) on the small
#: datasets when ``--epochs`` is not given. The gate slows learning further (SBU fold 0's training loss 0.69 at epoch
#: 240, 0.36 without it). SBU fold 0's inner cross-validation over its four training folds (the 10-epoch weight
#: average, lr 1e-3, 320 epochs, bench/results/accuracy/screen_sbu_stlstm_trust_f0_e320.json) rose from 83.8 % at
#: epoch 240 to 90.7 % at epoch 314, so the budget is the whole screened 320 epochs. Screened again to 480 epochs
#: (screen_sbu_stlstm_trust_f0_e480.json): the curve stays on an 87-91 % plateau from epoch 300 on while the training
#: loss keeps falling, and its peak is still epoch 314. Screened for ``st-lstm``; ``global2`` with the gate takes it
#: too, unscreened.
TRUST_GATE_EPOCHS = 320
#: Training sequences of one SBU fold (217-230, mean 225.6 over the five folds): the training-set size the slow
#: baselines' budgets were chosen at (batch 8). A smaller training split gets proportionally more epochs, the same
#: number of optimiser steps (:func:`same_steps`).
SBU_TRAIN_SEQUENCES = 226
#: The slowly learning ST-LSTM baselines and their epoch budgets: ST-LSTM and ST-LSTM + Global (2), whose training
#: losses on SBU fold 0's training split are both still about 0.94 at epoch 60. ST-LSTM + Global (1)
#: (concatenation + FC) is at 0.05-0.14 by then, like GCA-LSTM, and keeps the recipe's 60
#: (bench/results/accuracy/experiments.md, 2026-12-02).
SLOW_ST_LSTM_EPOCHS: dict[str, int] = {"st-lstm": ST_LSTM_EPOCHS, "global2": GLOBAL2_EPOCHS}
#: Gradient-norm clipping of ST-LSTM + Global (2) (``--model global2``) on the small datasets when ``--grad-clip`` is
#: not given. Unclipped, its training loss jumps again and again (13-18 times per SBU run, 0-6 for the other models):
#: each jump follows a single step whose norm is 20-180 times the median of about 4.2
#: (bench/results/accuracy/probe_sbu_global2_f0_gradnorm.txt), and two SBU test folds scored 60.0 and 73.1 %. SBU
#: fold 0's inner cross-validation (four training folds, the 10-epoch weight average, 240 epochs) gave 90.5 % at the
#: last epoch with the norm clipped at 5 (screen_sbu_global2_f0_e240_clip5.json); without clipping its first two
#: inner folds ended at 77 and 75 % where the clipped ones ended at 94 and 95 %, so even perfect scores on the other
#: two could not have reached 90.5 % (stopped/screen_sbu_global2_f0_e240.part0-1.json). The other models keep no
#: clipping. The plain ST-LSTM's loss jumps too, late in long runs, but clipped at 5 its inner cross-validation
#: peaked lower and earlier (89.6 % at epoch 169, screen_sbu_stlstm_f0_e300_clip5.json) than unclipped (91.0 % at
#: epoch 300 over the same epochs).
GLOBAL2_GRAD_CLIP = 5.0


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def gca_small_data(**optim: Any) -> Optimisation:
    """The GCA recipes' optimisation on the small datasets (SBU, UTKinect), chosen on training data only (SBU fold
    0's inner cross-validation over its four training folds, bench/results/accuracy/experiments.md): Adam at a
    constant 1e-3 (its inner-CV value beat RMSprop with the authors' schedule; the paper's SGD hardly moves the
    training loss), 60 epochs at batch 8, and an exponential moving average of the weights with a 10-epoch time
    constant whose last epoch is tested (``--selection none``, :func:`gca_small_data_protocol`). Its inner-CV value
    at the last epoch (92.1 %) equals the best budget's (92.3 %) where the raw weights' best budget reached 89.9 %,
    so choosing the budget by inner cross-validation (five runs per fold) bought nothing."""
    return Optimisation(**{**dict(epochs=60, batch_size=8, lr=1e-3, optimizer="adam", momentum=0.9, schedule="none",
                                  lr_decay=1.0, ema=10.0), **optim})


def arrn_small_data(**optim: Any) -> Optimisation:
    """The ARRN recipes' optimisation on the small datasets (MSR Action3D, UTKinect, Florence 3D), chosen on training
    data only (MSR Action3D AS2's inner leave-one-subject-out cross-validation over its five training subjects,
    bench/results/accuracy/experiments.md): Adam at a constant 1e-3, batch 16, the gradient norm clipped at 5 (about
    the median norm: single steps reached 5-15 times it and threw the training loss back), 100 epochs (the inner-CV
    budget of the 10-epoch weight average with clipping, 97 epochs at 87.4 %; without clipping the curve rose more
    slowly and peaked at 180 epochs, 86.2 %) and the weight average's last epoch tested; with joint velocities as
    extra channels and alpha fixed at 0.5 (:func:`small_data_protocol`: ``--selection none``; the pooled inner
    validation chose 0.25-0.5). ARRN-LSTM on MSR stays unstable late in training (raw last epochs up to 33 points
    below the best, with or without clipping), so the budget matters more than for GCA-LSTM: ``--selection
    inner-cv`` re-chooses it. Adam's second-moment decay is 0.99, not torch's 0.999: with 0.999 a stream that has
    started to learn after a plateau of tiny gradients can take steps many times the learning rate and fall back
    to chance for tens of epochs (a single stream on MSR AS1, seed 2: bench/probe_stall.py), which 0.99 prevents;
    on AS2's inner cross-validation it scored the same (83.6 %, screen_msr_arrn_as2_e100_beta99.json)."""
    return Optimisation(**{**dict(epochs=ARRN_EPOCHS, batch_size=16, lr=1e-3, optimizer="adam", schedule="none",
                                  lr_decay=1.0, grad_clip=5.0, ema=10.0, adam_beta2=ARRN_ADAM_BETA2), **optim})


def small_data_protocol(groups: str, **protocol: Any) -> Protocol:
    """The small datasets' protocol: nothing chosen (the weight average's last epoch), inner folds over
    ``groups`` when ``--selection inner-cv`` is asked for."""
    return Protocol(**{**dict(selection="none", cv_groups=groups), **protocol})


def run_options() -> RunOptions:
    return RunOptions(device=default_device())


def same_steps(epochs: int, train_sequences: int, reference: int = SBU_TRAIN_SEQUENCES) -> int:
    """The epochs that give a training split of ``train_sequences`` the optimiser steps that ``epochs`` give one
    of ``reference`` sequences at the same batch size (rounded up)."""
    if train_sequences <= 0:
        raise ValueError(f"train_sequences must be positive, got {train_sequences}")
    return math.ceil(epochs * reference / train_sequences)


def paper_setting(plain: dict[str, Any], given: frozenset[str], setting: dict[str, dict[str, Any]]) -> None:
    """With ``--paper-setting``, the paper's stated protocol (``setting``) for every option not given."""
    if plain["protocol"]["paper_setting"]:
        set_unless_given(plain, given, setting)


def resolve_gca_small_data(plain: dict[str, Any], given: frozenset[str],
                           train_sequences: int = SBU_TRAIN_SEQUENCES) -> None:
    """The GCA recipes' rule on the small datasets (SBU, UTKinect): the slowly learning ST-LSTM baselines train for
    :data:`SLOW_ST_LSTM_EPOCHS` (ST-LSTM 300, Global (2) 240), with ``--trust-gate`` :data:`TRUST_GATE_EPOCHS`,
    unless ``--epochs`` is given, and ``global2`` clips the gradient norm at :data:`GLOBAL2_GRAD_CLIP` unless
    ``--grad-clip`` is given; then ``--paper-setting`` (:data:`GCA_PAPER_SETTING`, no clipping). These were chosen
    on SBU's training folds; UTKinect takes them unscreened, as it takes SBU's other defaults. The ST-LSTM budgets
    are optimiser steps, not epochs: a training split of ``train_sequences`` sequences trains them for
    :func:`same_steps` epochs. Trained on half of SBU fold 0's training folds (121 sequences), ST-LSTM's training
    loss at epoch 240 (0.79) was where the whole split's is at epoch 100-120, and its averaged validation accuracy
    was still rising (78.6 % at epoch 240, 80-83 % at 340-360). GCA-LSTM's 60 epochs stay epochs: on the half split
    its training loss reached 0.01 by epoch 60 as on the whole one, and its averaged validation accuracy was flat
    from epoch 40 to 100 (88-91 %) and lower at 120-160 (bench/results/accuracy/experiments.md, 2026-12-05)."""
    model = plain["model"]
    if model["model"] in SLOW_ST_LSTM_EPOCHS:
        budget = TRUST_GATE_EPOCHS if model["trust_gate"] else SLOW_ST_LSTM_EPOCHS[model["model"]]
        set_unless_given(plain, given, {"optim": {"epochs": same_steps(budget, train_sequences)}})
    if model["model"] == "global2":
        set_unless_given(plain, given, {"optim": {"grad_clip": GLOBAL2_GRAD_CLIP}})
    paper_setting(plain, given, GCA_PAPER_SETTING)


def resolve_utkinect_gca(plain: dict[str, Any], given: frozenset[str]) -> None:
    """:func:`resolve_gca_small_data` with UTKinect's training-split size for its protocol."""
    resolve_gca_small_data(plain, given, UTKINECT_TRAIN_SEQUENCES[plain["data"]["protocol"]])


#: Training sequences of one MSR Action3D subset's cross-subject split (AS1 114, AS2 116, AS3 111 of the 557 files).
MSR_TRAIN_SEQUENCES = 114


def resolve_msr_gca(plain: dict[str, Any], given: frozenset[str]) -> None:
    """:func:`resolve_gca_small_data` with an MSR Action3D subset's training-split size."""
    resolve_gca_small_data(plain, given, MSR_TRAIN_SEQUENCES)


#: ARRN-LSTM's small-data budget (:func:`arrn_small_data`: 100 epochs) and the training-split size it was chosen
#: at (MSR Action3D AS2's 116 sequences; the subsets' mean is :data:`MSR_TRAIN_SEQUENCES`).
ARRN_EPOCHS = 100
#: Adam's second-moment decay of the ARRN small-data recipes (:func:`arrn_small_data`; screened on MSR AS2's
#: training subjects, screens.log 2026-12-07).
ARRN_ADAM_BETA2 = 0.99


def resolve_arrn_small_data(plain: dict[str, Any], given: frozenset[str]) -> None:
    """The ARRN recipes' rule on the small datasets: ``--paper-setting`` (:data:`ARRN_PAPER_SETTING`)."""
    paper_setting(plain, given, ARRN_PAPER_SETTING)


def arrn_config(recipe: str, data: Any, *, preset: str, T: int, M: int, optim: Optimisation,
                protocol: Protocol) -> RecipeConfig:
    return RecipeConfig(recipe, data, ARRNOptions(preset=preset, T=T, M=M), optim, protocol, run_options())


def gca_config(recipe: str, data: Any, *, T: int, optim: Optimisation, protocol: Protocol,
               **model: Any) -> RecipeConfig:
    return RecipeConfig(recipe, data, GCAOptions(T=T, **model), optim, protocol, run_options())


# ------------------------------------------------------------------------------------------------ the recipes
def arrn_msr() -> RecipeConfig:
    """ARRN-LSTM on MSR Action3D (Table 5): the paper's T = 20, M = 20 and LSTM sizes, the small-data defaults."""
    from skelgraph.recipes.protocols import MSRData

    return arrn_config("arrn_msr", MSRData(), preset="msr", T=20, M=20, optim=arrn_small_data(),
                       protocol=small_data_protocol("subject", velocity=True))


def arrn_florence() -> RecipeConfig:
    """ARRN-LSTM on Florence 3D (Table 4): T = 25, M = 20, the small-data defaults."""
    from skelgraph.recipes.protocols import FlorenceData

    return arrn_config("arrn_florence", FlorenceData(), preset="florence", T=25, M=20, optim=arrn_small_data(),
                       protocol=small_data_protocol("subject", velocity=True))


def arrn_utkinect() -> RecipeConfig:
    """ARRN-LSTM on UTKinect: no figure in the paper; its MSR Action3D configuration (Kinect v1, 20 joints)."""
    from skelgraph.recipes.protocols import UTKinectData

    return arrn_config("arrn_utkinect", UTKinectData(), preset="msr", T=20, M=20, optim=arrn_small_data(),
                       protocol=small_data_protocol("subject", velocity=True))


def arrn_ntu() -> RecipeConfig:
    """ARRN-LSTM on NTU RGB+D (Tables 1-3), the paper's setting: SGD lr 0.01, momentum 0.9, x0.1 when the
    validation accuracy has not improved for 5 epochs, 60 epochs at batch 32, T = 100, M = 50."""
    from skelgraph.recipes.protocols import NTUData

    optim = Optimisation(epochs=60, batch_size=32, lr=0.01, optimizer="sgd", momentum=0.9, schedule="plateau",
                         lr_decay=0.1, plateau_patience=5)
    return arrn_config("arrn_ntu", NTUData(), preset="ntu", T=100, M=50, optim=optim, protocol=Protocol())


def resolve_arrn_ntu(plain: dict[str, Any], given: frozenset[str]) -> None:
    """NTU120's LSTM sizes for ``--dataset ntu120``; without the full set a 4-epoch demonstration at batch 4."""
    from skelgraph.recipes.protocols import resolve_ntu_demo

    set_unless_given(plain, given, {"model": {"preset": "ntu" if plain["data"]["dataset"] == "ntu60" else "ntu120"}})
    resolve_ntu_demo(plain, given, epochs=4, batch_size=4)


def gca_lstm_ntu() -> RecipeConfig:
    """GCA-LSTM on NTU RGB+D (Tables II, VII), the paper's setting: SGD lr 1.5e-3, momentum 0.9, x0.95 per epoch,
    stepwise training (Algorithm 1), T = 100."""
    from skelgraph.recipes.protocols import NTUData

    optim = Optimisation(epochs=60, batch_size=32, lr=1.5e-3, optimizer="sgd", momentum=0.9, schedule="exponential",
                         lr_decay=0.95)
    return gca_config("gca_lstm_ntu", NTUData(), T=100, optim=optim, protocol=Protocol())


def resolve_gca_ntu(plain: dict[str, Any], given: frozenset[str]) -> None:
    """Without the full set: a 3-epoch demonstration at batch 4 (one epoch per step of a stepwise run with N = 2;
    the paper's 60 epochs took over an hour and a half on the five samples on one CPU core, the NTU configuration's
    global-context FFN alone having 80 million weights), and direct training unless ``--training`` is given (the
    samples cannot give the validation split Algorithm 1 ends its steps by; a stepwise demonstration gives each step
    a fixed share of the epochs)."""
    from skelgraph.recipes.protocols import resolve_ntu_demo

    if resolve_ntu_demo(plain, given, epochs=3, batch_size=4):
        return
    if "model.training" not in given:
        plain["model"]["training"] = "direct"
    elif plain["model"]["training"] == "stepwise" and plain["model"]["model"] in ("gca", "gca2") \
            and "protocol.selection" not in given:
        plain["protocol"]["selection"] = "none"


def gca_lstm_sbu() -> RecipeConfig:
    """GCA-LSTM and the ST-LSTM baselines on SBU (Table IX), in metres, both people stacked per joint and randomly
    swapped (``--swap 0.5``), direct training, the small-data defaults."""
    from skelgraph.recipes.protocols import SBUData

    return gca_config("gca_lstm_sbu", SBUData(), T=20, bodies="stacked", training="direct", optim=gca_small_data(),
                      protocol=small_data_protocol("fold", swap=0.5))


def gca_lstm_msr() -> RecipeConfig:
    """GCA-LSTM and the ST-LSTM baselines on MSR Action3D (the ladder of issue 35: the GCA paper reports no MSR
    figure): SBU's small-data defaults, unscreened on MSR, as UTKinect takes them (Kinect v1, one person)."""
    from skelgraph.recipes.protocols import MSRData

    return gca_config("gca_lstm_msr", MSRData(), T=20, training="direct", optim=gca_small_data(),
                      protocol=small_data_protocol("subject"))


def gca_lstm_utkinect() -> RecipeConfig:
    """GCA-LSTM on UTKinect (Table V): SBU's small-data defaults (the paper's SGD stays at chance here)."""
    from skelgraph.recipes.protocols import UTKinectData

    return gca_config("gca_lstm_utkinect", UTKinectData(), T=20, training="direct", optim=gca_small_data(),
                      protocol=small_data_protocol("subject"))
