"""The parts of a recipe configuration that every recipe shares: optimisation, protocol, run, and the two model
families' options. Defaults here are the library's; each recipe's own live in :mod:`skelgraph.recipes.defaults`."""

from __future__ import annotations

from dataclasses import dataclass

from skelgraph.recipes.config import ConfigError, Section, option

OPTIMIZERS = ("sgd", "adam", "rmsprop")
SCHEDULES = ("none", "exponential", "plateau")
SELECTIONS = ("val-split", "inner-cv", "none")
#: ``--stream`` choices of ARRN-LSTM and the streams they build.
STREAM_CHOICES: dict[str, tuple[str, ...]] = {"two": ("joint", "line"), "joint": ("joint",), "line": ("line",)}
#: The models of the GCA recipes (``--model``).
GCA_MODELS: dict[str, str] = {
    "gca": "GCA-LSTM (Section III)",
    "gca2": "two-stream GCA-LSTM (Section IV)",
    "st-lstm": "ST-LSTM (Liu et al., ECCV 2016; its trust gate with --trust-gate)",
    "global1": "ST-LSTM + Global (1): concatenation + FC",
    "global2": "ST-LSTM + Global (2): average",
}
#: ARRN-LSTM paper settings (LSTM sizes and the like, :meth:`~skelgraph.nn.ARRNLSTM.from_paper`).
ARRN_PRESETS = ("msr", "florence", "ntu", "ntu120")
#: Copies of the choices :mod:`skelgraph.nn.arrn` defines (``READOUTS``, ``MASK_INITS``, ``OBJECTIVES``,
#: ``EMBEDDINGS``, ``LINE_SLOTS``, ``ATTENTION_FCS``, ``MASK_NORMS``, ``RRN_INITS``): the options are read without
#: importing torch; a test keeps them equal.
READOUTS = ("last_valid", "last", "mean", "concat")
MASK_INITS = ("ones", "random")
OBJECTIVES = ("streams", "fused")
EMBEDDINGS = ("shared", "per_joint")
LINE_SLOTS = ("skip", "fixed")
ATTENTION_FCS = ("frame", "per_node")
MASK_NORMS = ("none", "softmax")
RRN_INITS = ("input", "zeros")
#: Eq. (6)'s neighbourhood in the recipes: the complete graph (ARRNLSTM(edges=None)) or the layout's bones.
RRN_GRAPHS = ("complete", "bones")


@dataclass(frozen=True)
class Optimisation(Section):
    """How the weights are fitted: the fields of :class:`~skelgraph.training.TrainConfig` a recipe chooses."""

    section = "optim"
    epochs: int = option(10, "training epochs (the whole budget; stepwise: all steps together)", low=1)
    batch_size: int = option(32, "per process (per GPU under torchrun)", low=1)
    lr: float = option(0.01, "learning rate", low=0, low_open=True)
    optimizer: str = option("sgd", "sgd (with --momentum), adam or rmsprop", choices=OPTIMIZERS)
    momentum: float = option(0.9, "SGD momentum", low=0, high=1)
    schedule: str = option("none", "learning-rate schedule: none, exponential (x --lr-decay every epoch) or plateau "
                           "(x --lr-decay after --patience epochs without validation gain)", choices=SCHEDULES)
    lr_decay: float = option(0.1, "learning-rate factor of the schedule (giving it on the command line also "
                             "picks the schedule: exponential, or none for 1)", low=0, low_open=True, high=1)
    plateau_patience: int = option(5, "plateau schedule: epochs without validation gain before the decay",
                                   flags=("--patience", "--plateau-patience"), low=1)
    cosine: bool = option(False, "anneal the learning rate from --lr to 0 along a half cosine over --epochs (per "
                          "epoch; not in the papers); --selection inner-cv then keeps --epochs as the budget")
    weight_decay: float = option(0.0, "L2 penalty of the optimiser (torch.optim's weight_decay)", low=0)
    grad_clip: float | None = option(None, "clip the gradient norm to this value (0: no clipping, for a recipe that "
                                     "clips by default)", low=0)
    grad_clamp: float | None = option(None, "clamp every gradient element to +- this value (the GCA-LSTM authors' "
                                      "code: 5-8)", low=0, low_open=True)
    rmsprop_alpha: float = option(0.95, "RMSprop smoothing constant (the authors' 'decay rate' 0.95)", low=0,
                                  high=1)
    adam_beta2: float = option(0.999, "Adam's second-moment decay rate (torch's default 0.999; a smaller value "
                               "adapts the step size faster after a plateau of tiny gradients)", low=0, low_open=True,
                               high=0.9999)
    ema: float = option(0.0, "evaluate, select and keep an exponential moving average of the weights with this "
                        "time constant in epochs (0: the raw weights of the last or best epoch)", low=0,
                        metavar="EPOCHS")

    def check(self) -> None:
        if self.cosine and self.schedule != "none":
            raise ConfigError(f"--cosine replaces the learning-rate schedule, but this run also has a {self.schedule} "
                              f"one (--lr-decay {self.lr_decay}): give --lr-decay 1 with --cosine")

    def schedule_name(self) -> str:
        """The :class:`~skelgraph.training.TrainConfig` schedule: ``cosine`` or :attr:`schedule`."""
        return "cosine" if self.cosine else self.schedule


@dataclass(frozen=True)
class Protocol(Section):
    """Model selection, augmentation and pre-processing (nothing here ever looks at a test split)."""

    section = "protocol"
    selection: str = option("val-split", "how the epoch budget (and ARRN's alpha) are chosen, always on training "
                            "data: a validation split, inner cross-validation over --cv-groups, or nothing (last of "
                            "--epochs)", choices=SELECTIONS)
    val_fraction: float = option(0.1, "share of the training split held out for model selection and stepwise "
                                 "training", low=0, high=1)
    cv_groups: str | None = option(None, "sample attribute whose values are the inner folds of --selection inner-cv")
    cv_folds: int | None = option(None, "inner-cv: deal the groups into this many inner folds (default: one fold "
                                  "per group)", low=2)
    smooth: int = option(5, "inner-cv: epochs of the moving average over the mean validation curve", low=1)
    swap: float = option(0.0, "probability of swapping the two people (training)", low=0, high=1)
    rotate: float = option(0.0, "random rotation about the vertical axis, +- degrees (training)", low=0, high=180)
    random_scale: tuple[float, float] | None = option(None, "random scale factor range (training)", low=0,
                                                      low_open=True, metavar=("LOW", "HIGH"))
    noise: float = option(0.0, "Gaussian coordinate noise, in units of the coordinates' standard deviation "
                          "(training)", low=0)
    frame_sampling: str = option("random", "how training draws its T frames: any T in order (random), one from "
                                 "each of T equal segments (segment), or T consecutive frames from a random start "
                                 "(window); evaluation takes evenly spaced frames",
                                 choices=("random", "segment", "window"))
    center: str = option("frame", "centre every frame on its own body centre (frame: ARRN-LSTM Section 4.1's "
                         "reading), or on one centre for the whole sequence, keeping the body's path through "
                         "space: the first frame's (sequence) or the mean over the frames (mean)",
                         choices=("frame", "sequence", "mean"))
    center_joints: tuple[str, ...] | None = option(None, "the joints whose mean is the body centre (default: the "
                                                   "layout's; MSR Action3D: HipCenter Spine HipLeft HipRight "
                                                   "ShoulderCenter, ARRN-LSTM's 'average value of the 5 joints "
                                                   "close to the hip joint')", metavar="JOINT")
    velocity: bool = option(False, "append each joint's frame-to-frame displacement as channels (not in the papers)",
                            boolean_optional=True)
    scale: bool = option(True, "keep the centred coordinates in their recorded units instead of scaling them to "
                         "unit variance (1 / std of the training split's centred coordinates; not in the papers); "
                         "--noise is then in the recorded units too",
                         flags=("--no-scale",), negate=True)
    uncross_legs: bool = option(False, "clean-up of every sample (training and test alike, before centring): in "
                                "frames whose knees, ankles and feet cross the hips' left/right order, the legs "
                                "trade places (UncrossLegs; a depth sensor's left/right confusion)")
    smooth_time: tuple[int, int] | None = option(None, "clean-up of every sample (before centring): Savitzky-Golay "
                                                 "smoothing of every joint trajectory over WINDOW frames with a "
                                                 "polynomial of degree ORDER (SmoothTime; HBRNN smooths MSR so)",
                                                 low=0, metavar=("WINDOW", "ORDER"))
    monitor_test: bool = option(True, "do not evaluate the test split after every epoch (its curve is logged, "
                                "optimistic, and chooses nothing)", flags=("--no-monitor-test",), negate=True)
    paper_setting: bool = option(False, "the paper's stated training protocol (optimiser, schedule, no augmentation, "
                                 "best epoch on a validation split) instead of the recipe's defaults; explicit "
                                 "options still win")

    def check(self) -> None:
        if self.random_scale is not None and self.random_scale[0] > self.random_scale[1]:
            low, high = self.random_scale
            raise ConfigError(f"--random-scale: LOW must not exceed HIGH, got {low:g} {high:g}")
        if self.smooth_time is not None:
            window, order = self.smooth_time
            if window < 3 or window % 2 == 0 or window > 101 or order >= window:
                raise ConfigError(f"--smooth-time: WINDOW must be odd, 3 to 101, and ORDER below it, got {window} "
                                  f"{order}")
        if self.selection == "inner-cv" and not self.cv_groups:
            raise ConfigError("--selection inner-cv needs --cv-groups (a sample attribute such as subject or fold)")


@dataclass(frozen=True)
class RunOptions(Section):
    """Where and how a run executes: nothing here changes what is learnt (but ``seed``)."""

    section = "run"
    out: str | None = option(None, "run folder: log, checkpoints, plots, metrics.json; a folder that already holds "
                             "a run is refused unless --resume is given")
    resume: bool = option(False, "continue the run in --out from its last checkpoint (refused if the options differ "
                          "from the stored ones, see --override)")
    override: bool = option(False, "with --resume: continue with the new options (recorded in run.json) instead of "
                            "refusing a changed configuration")
    device: str = option("cpu", "torch device (default: cuda when there is one)")
    seed: int = option(0, "seed of every random choice (weights, splits, augmentation)", low=0)
    workers: int = option(0, "data loader worker processes", low=0)
    amp: bool = option(False, "mixed precision (bfloat16 autocast) on CUDA")
    compile: bool = option(False, "torch.compile the model")
    tensorboard: bool = option(False, "also log to TensorBoard (needs tensorboard)")
    progress: bool = option(True, "no progress bars (they are off anyway when the output is not a terminal)",
                            flags=("--no-progress",), negate=True)
    log_every: int = option(0, "also print a plain progress line every N training batches (0: only the line per "
                            "epoch printed when the output is not a terminal)", low=0, metavar="N")
    quiet: bool = option(False, "no line per epoch (printed when the output is not a terminal: a log file, a pipe)")
    checkpoint_every: float = option(10.0, "minutes between writes of the resumable last.pt (it is also written at "
                                     "the end and on SIGINT / SIGTERM; 0: after every epoch)", low=0,
                                     metavar="MINUTES")
    keep: str = option("resume", "what the run folder keeps: resume (last.pt to resume or extend the run, model.pt, "
                       "best.pt when the selected epoch is not the last), model (model.pt only) or none (no "
                       "weights: metrics, logs, plots)", choices=("resume", "model", "none"))
    plot_sample: int | None = option(None, "index of the test sample drawn in attention.png / attention.gif "
                                     "(default: the most confident correctly classified test sample)", low=0,
                                     metavar="INDEX")


@dataclass(frozen=True)
class ARRNOptions(Section):
    """ARRN-LSTM (Zheng et al., ICME 2019): the model and its fusion weight."""

    section = "model"
    model: str = option("arrn", "the model family", choices=("arrn",))
    preset: str = option("msr", "ARRN-LSTM's LSTM sizes and other settings from this paper setting (msr: "
                         "512-256-512, ntu: 512-512-512)", choices=ARRN_PRESETS)
    stream: str = option("two", "two-stream ARRN-LSTM, or the joint / line stream alone", choices=STREAM_CHOICES)
    mask: bool = option(True, "RRN-LSTM ablation: no attention mask (Eq. 9)", flags=("--no-mask",), negate=True)
    T: int = option(20, "frames per sample", low=1)
    M: int = option(20, "embedding / RRN state size", low=1)
    E: int = option(5, "RRN iterations", low=1)
    lstm_sizes: tuple[int, ...] | None = option(None, "hidden size of each LSTM layer, bottom to top (default: the "
                                                "paper's for the preset)", low=1, metavar="H")
    readout: str = option("last_valid", "what Eq. (11) classifies: the LSTM output at the last real frame (the "
                          "paper), at frame T - 1, its mean over the real frames (not in the paper), or all T "
                          "outputs side by side through one FC (Eq. 11 read literally, padding included)",
                          choices=READOUTS)
    mask_init: str = option("ones", "how the attention mask of Eq. (9) starts: every node 1, or a random vector "
                            "uniform in [0, 1) (3.2.3: 'it could be a random vector of size J')", choices=MASK_INITS)
    objective: str = option("streams", "what two-stream training minimises: the sum of the streams' "
                            "cross-entropies (each stream trained as if alone), or the negative log-likelihood of "
                            "the fused prediction of Eq. (12) at the current alpha", choices=OBJECTIVES)
    embedding: str = option("shared", "the node embedding of Eq. (1) / (3): one FC shared by every node, or one FC "
                            "per joint", choices=EMBEDDINGS)
    line_slots: str = option("skip", "the layout of a line (Eq. 2): the offsets to the other joints in order (the "
                             "text's 'exclude the one between c_t,i and itself'), or Eq. (2) literally, slot j always "
                             "joint j and a zero at j = i", choices=LINE_SLOTS)
    message_channels: int | None = option(None, "hidden width of the RRN's message MLP (default: M)", low=1)
    attention_fc: str = option("frame", "the attention FC of Eq. (9): one FC over a frame's concatenated masked "
                               "nodes (which absorbs the mask), or one FC shared by the nodes (M -> 256 // J), "
                               "outputs concatenated", choices=ATTENTION_FCS)
    mask_norm: str = option("none", "how the mask of Eq. (9) weighs the nodes: its entries as they are "
                            "(unconstrained), or J softmax(m) (positive weights that compete and average 1)",
                            choices=MASK_NORMS)
    rrn_init: str = option("input", "the RRN's starting node state h^0 (Eq. 7 leaves it open): the embedding, or "
                           "zeros", choices=RRN_INITS)
    message_relu: bool = option(False, "a ReLU after the last layer of the RRN's message MLP too (Eq. 5; default: "
                                "none, the last layer is linear)")
    embedding_relu: bool = option(False, "a ReLU after the embedding FC of Eq. (1) / (3) (default: none, the paper "
                                  "names no non-linearity)")
    rrn_graph: str = option("complete", "Eq. (6)'s neighbourhood: every other node of the frame (complete: "
                            "'long-range dependencies among all joints'), or the skeleton's bones only (bones)",
                            choices=RRN_GRAPHS)
    line_velocity: bool = option(True, "with velocity channels, compute the line stream's offsets (Eq. 2) from the "
                                 "joint positions only, as the paper computes lines 'according to the normalized "
                                 "joints' (default: from every joint feature, velocities included)",
                                 flags=("--no-line-velocity",), negate=True)
    dropout: float = option(0.0, "dropout probability", low=0, high=1)
    checkpoint_activations: bool = option(False, "recompute the RRN iterations in backward: much less memory, about "
                                          "30%% more time")
    alpha: float | None = option(None, "fixed joint-stream fusion weight of Eq. (12) (the line stream gets "
                                 "1 - alpha); default: chosen on training data by --selection (val-split, "
                                 "inner-cv), 0.5 with --selection none", low=0, high=1)
    relational: bool = option(True, "the plain multi-layer LSTM baseline: each frame's node features side by side "
                              "into the LSTM stack, no embedding, RRN, mask or attention FC (ARRNLSTM "
                              "relational=False)", flags=("--no-relational",), negate=True)
    forget_bias: float = option(0.0, "added to the initial forget-gate bias of every LSTM layer (0: torch's "
                                "initialisation, the paper's; not screened yet)", low=-100, high=100)

    def streams(self) -> tuple[str, ...]:
        return STREAM_CHOICES[self.stream]


@dataclass(frozen=True)
class GCAOptions(Section):
    """GCA-LSTM (Liu et al., TIP 2018) and its ST-LSTM baselines."""

    section = "model"
    model: str = option("gca", "; ".join(f"{k}: {v}" for k, v in GCA_MODELS.items()), choices=GCA_MODELS)
    training: str = option("stepwise", "direct, or stepwise (Algorithm 1; GCA models only): with --selection "
                           "val-split each step ends when the validation loss stops falling, with --selection none "
                           "after --stepwise-max-epochs", choices=("direct", "stepwise"))
    T: int = option(20, "frames per sample", low=1)
    N: int = option(2, "attention iterations", low=1)
    init: str = option("ffn", "global context initialisation (Eq. 4)", choices=("ffn", "mean"))
    attention: str = option("gate", "informativeness gate (Eq. 7) or the soft-attention variant of Section V-I",
                            choices=("gate", "soft"))
    share_within: bool = option(True, "Table VIII: separate We1/We2 per iteration", flags=("--no-share-within",),
                                negate=True)
    share_across: bool = option(False, "Table VIII: share We1/We2 across iterations")
    stepwise_patience: int = option(1, "stepwise: epochs without a lower validation loss before the next step "
                                    "(Algorithm 1: 1)", low=1)
    stepwise_max_epochs: int | None = option(None, "stepwise: at most this many epochs per step, so that a slowly "
                                             "improving step cannot take the whole budget; with --selection none, "
                                             "exactly this many (default: --epochs / (N + 1), rounded up; 0: no "
                                             "bound, Algorithm 1 as written)", low=0)
    hidden: int = option(128, "ST-LSTM state and global memory size", low=1)
    dropout: float = option(0.5, "dropout probability", low=0, high=1)
    chain: str = option("tree", "joint chain of the ST-LSTM", choices=("tree", "simple"))
    forget_bias: float = option(-1.0, "initial offset of the ST-LSTM forget-gate biases (0: plain initialisation, "
                                "whose cell states grow over the grid and saturate)")
    trust_gate: bool = option(False, "ST-LSTM baselines (st-lstm, global1, global2): both layers with the trust gate "
                              "of Liu et al. (ECCV 2016); st-lstm with it is the model GCA-LSTM's 'ST-LSTM [29]' rows "
                              "cite")
    bodies: str = option("separate", "two-person samples: every body through the network on its own, scores "
                         "averaged (separate), or both bodies' coordinates side by side per joint (stacked: 6 "
                         "channels)", choices=("separate", "stacked"))

    def check(self) -> None:
        if self.trust_gate and self.model in ("gca", "gca2"):
            raise ConfigError(f"--trust-gate applies to the ST-LSTM baselines (st-lstm, global1, global2), not to "
                              f"--model {self.model}")

    @property
    def stepwise(self) -> bool:
        """Whether the run trains stepwise (Algorithm 1: the GCA models only)."""
        return self.training == "stepwise" and self.model in ("gca", "gca2")
