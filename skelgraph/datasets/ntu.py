"""NTU RGB+D 60 (Shahroudy et al., CVPR 2016) and NTU RGB+D 120 (Liu et al., TPAMI 2019)."""

from __future__ import annotations

import glob
import os
import os.path as osp
from collections.abc import Callable, Iterator
from typing import Any

from torch import Tensor
from torch_geometric.data import Data

from skelgraph.data import SkeletonSequence
from skelgraph.datasets.base import RawDataMissingError, SkeletonDataset, in_set, split_mask
from skelgraph.io.ntu import MIN_BODY_FRAMES, parse_ntu_name, read_name_list, read_ntu_skeleton
from skelgraph.skeleton import NTU

#: Action names of NTU RGB+D 120 in label order (the first 60 are NTU RGB+D 60), from the official README.
NTU_ACTIONS: tuple[str, ...] = (
    "drink water", "eat meal/snack", "brushing teeth", "brushing hair", "drop", "pickup", "throw", "sitting down",
    "standing up (from sitting position)", "clapping", "reading", "writing", "tear up paper", "wear jacket",
    "take off jacket", "wear a shoe", "take off a shoe", "wear on glasses", "take off glasses", "put on a hat/cap",
    "take off a hat/cap", "cheer up", "hand waving", "kicking something", "reach into pocket",
    "hopping (one foot jumping)", "jump up", "make a phone call/answer phone", "playing with phone/tablet",
    "typing on a keyboard", "pointing to something with finger", "taking a selfie", "check time (from watch)",
    "rub two hands together", "nod head/bow", "shake head", "wipe face", "salute", "put the palms together",
    "cross hands in front (say stop)", "sneeze/cough", "staggering", "falling", "touch head (headache)",
    "touch chest (stomachache/heart pain)", "touch back (backache)", "touch neck (neckache)",
    "nausea or vomiting condition", "use a fan (with hand or paper)/feeling warm", "punching/slapping other person",
    "kicking other person", "pushing other person", "pat on back of other person",
    "point finger at the other person", "hugging other person", "giving something to other person",
    "touch other person's pocket", "handshaking", "walking towards each other", "walking apart from each other",
    "put on headphone", "take off headphone", "shoot at the basket", "bounce ball", "tennis bat swing",
    "juggling table tennis balls", "hush (quite)", "flick hair", "thumb up", "thumb down", "make ok sign",
    "make victory sign", "staple book", "counting money", "cutting nails", "cutting paper (using scissors)",
    "snapping fingers", "open bottle", "sniff (smell)", "squat down", "toss a coin", "fold paper", "ball up paper",
    "play magic cube", "apply cream on face", "apply cream on hand back", "put on bag", "take off bag",
    "put something into a bag", "take something out of a bag", "open a box", "move heavy objects", "shake fist",
    "throw up cap/hat", "hands up (both hands)", "cross arms", "arm circles", "arm swings", "running on the spot",
    "butt kicks (kick backward)", "cross toe touch", "side kick", "yawn", "stretch oneself", "blow nose",
    "hit other person with something", "wield knife towards other person", "knock over other person (hit with body)",
    "grab other person's stuff", "shoot at other person with a gun", "step on foot", "high-five",
    "cheers and drink", "carry something with other person", "take a photo of other person",
    "follow other person", "whisper in other person's ear", "exchange things with other person",
    "support somebody with hand", "finger-guessing game (playing rock-paper-scissors)",
)
#: Cross-subject training performers of NTU RGB+D 60 (Shahroudy et al., 2016).
NTU60_XSUB_TRAIN: tuple[int, ...] = (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)
#: Cross-view training cameras of NTU RGB+D 60.
NTU60_XVIEW_TRAIN: tuple[int, ...] = (2, 3)
#: Cross-subject training performers of NTU RGB+D 120 (Liu et al., 2019).
NTU120_XSUB_TRAIN: tuple[int, ...] = NTU60_XSUB_TRAIN + (
    45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86, 89, 91, 92, 93, 94,
    95, 97, 98, 100, 103,
)

#: Folder (under ``raw/``) the full dataset's ``.skeleton`` files go in: the name the official archives unpack to.
FULL_DIR = "nturgb+d_skeletons"
#: Folder of the five genuine samples bundled with the repository, used when :data:`FULL_DIR` is absent.
SAMPLES_DIR = "samples"


class _NTU(SkeletonDataset):
    """Shared code of :class:`NTU60` and :class:`NTU120`."""

    folder = "ntu_rgbd"
    layout = NTU
    units_per_cm = (0.01, 0.01, 0.01)  # Kinect v2 camera space, metres
    benchmarks: dict[str, tuple[str, tuple[int, ...]]]  # benchmark -> (meta field, training values)
    num_classes_total: int
    max_setup: int
    missing_list: str

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        benchmark: str = "xsub",
        split: str = "train",
        transform: Callable[[Data], Data] | None = None,
        pre_transform: Callable[[Data], Data] | None = None,
        pre_filter: Callable[[Data], bool] | None = None,
        max_bodies: int = 2,
        min_body_frames: int = MIN_BODY_FRAMES,
        force_reload: bool = False,
        log: bool = True,
        cache_dir: str | os.PathLike | None = None,
    ) -> None:
        if benchmark not in self.benchmarks:
            raise ValueError(f"unknown benchmark {benchmark!r}; expected one of {sorted(self.benchmarks)}")
        if max_bodies < 1:
            raise ValueError(f"max_bodies must be >= 1, got {max_bodies}")
        self.benchmark = benchmark
        self.max_bodies = max_bodies
        self.min_body_frames = min_body_frames
        self.class_names = NTU_ACTIONS[: self.num_classes_total]
        super().__init__(root, split, transform, pre_transform, pre_filter, force_reload, log, cache_dir)

    @property
    def skeleton_dir(self) -> str:
        """Where the ``.skeleton`` files are read from: the full set when present, else the bundled samples."""
        full = osp.join(self.root, "raw", FULL_DIR)
        return full if osp.isdir(full) else osp.join(self.root, "raw", SAMPLES_DIR)

    @property
    def raw_file_names(self) -> list[str]:
        return [osp.basename(self.skeleton_dir), self.missing_list]

    def download(self) -> None:
        raise RawDataMissingError(
            f"{type(self).__name__}: raw data not found in {self.raw_dir}. NTU RGB+D is distributed only after "
            "registration: request access at https://rose1.ntu.edu.sg/dataset/actionRecognition/, download the "
            "skeleton archives (nturgbd_skeletons_s001_to_s017.zip for NTU RGB+D 60, plus "
            "nturgbd_skeletons_s018_to_s032.zip for NTU RGB+D 120), unpack every *.skeleton file into "
            f"{osp.join(self.raw_dir, FULL_DIR)} and put {self.missing_list} (from "
            f"https://github.com/shahroudy/NTURGB-D, folder Matlab/) into {self.raw_dir}."
        )

    def params(self) -> dict[str, Any]:
        return dict(max_bodies=self.max_bodies, min_body_frames=self.min_body_frames, source=self.skeleton_dir)

    def read_samples(self) -> Iterator[SkeletonSequence]:
        missing = frozenset(read_name_list(osp.join(self.raw_dir, self.missing_list)))
        for f in sorted(glob.glob(osp.join(self.skeleton_dir, "*.skeleton"))):
            name = osp.basename(f).split(".")[0]
            try:
                fields = parse_ntu_name(name)
            except ValueError:
                self.skip(name, f"{f}: not an NTU sample name SsssCcccPpppRrrrAaaa")
                continue
            if fields["setup"] > self.max_setup or fields["action"] > self.num_classes_total:
                continue  # a sample of the larger NTU 120 release, not part of this dataset
            seq = self.attempt(name, lambda f=f: read_ntu_skeleton(
                f, max_bodies=self.max_bodies, min_frames=self.min_body_frames, missing=missing))
            if seq is not None:
                yield seq

    def select(self) -> Tensor:
        field, train_values = self.benchmarks[self.benchmark]
        return split_mask(in_set(self.meta(field), train_values), self.split)


class NTU60(_NTU):
    """NTU RGB+D 60: 60 actions, 40 performers, 3 cameras; benchmarks ``"xsub"`` and ``"xview"``.

    Reads ``raw/nturgb+d_skeletons/*.skeleton`` (setups S001-S017, actions A001-A060) when that folder exists,
    else the five genuine samples bundled in ``raw/samples/`` (a tiny set for trying things out). Samples on the
    official list ``raw/NTU_RGBD_samples_with_missing_skeletons.txt`` (302 names) are skipped and reported.

    Bodies: at most ``max_bodies`` actors per sample, chosen by the rule of SGN / Microsoft's NTU preprocessing
    (:func:`skelgraph.io.ntu.select_bodies`): frames without a body are dropped; with several body IDs, IDs
    tracked in ``<= min_body_frames`` frames and IDs that are not upright (x-extent > 0.8 y-extent) in
    ``>= 69.754 %`` of their frames are removed; the rest are ranked by motion (summed per-axis variance of the
    joints) and merged into actor slots when their time spans do not overlap; frames with no actor are dropped.

    Benchmarks: cross-subject trains on performers :data:`NTU60_XSUB_TRAIN`; cross-view trains on cameras 2, 3.

    Args:
        root: Default :func:`~skelgraph.datasets.default_root` of ``ntu_rgbd``.
        benchmark: ``"xsub"`` or ``"xview"``.
        split: ``"train"``, ``"test"`` or ``"all"``.
        max_bodies: Actors kept per sample (2 as in the literature).
        min_body_frames: Length threshold of the body denoising (SGN: 11).
    """

    benchmarks = {"xsub": ("subject", NTU60_XSUB_TRAIN), "xview": ("camera", NTU60_XVIEW_TRAIN)}
    num_classes_total = 60
    max_setup = 17
    missing_list = "NTU_RGBD_samples_with_missing_skeletons.txt"


class NTU120(_NTU):
    """NTU RGB+D 120: 120 actions, 106 performers, 32 setups; benchmarks ``"xsub"`` and ``"xset"``.

    Same files, body selection and skipping as :class:`NTU60` (all setups and actions; missing list
    ``raw/NTU_RGBD120_samples_with_missing_skeletons.txt``, 535 names). Cross-subject trains on performers
    :data:`NTU120_XSUB_TRAIN`; cross-setup trains on even setup IDs.

    Args:
        benchmark: ``"xsub"`` or ``"xset"``; other arguments as :class:`NTU60`.
    """

    benchmarks = {"xsub": ("subject", NTU120_XSUB_TRAIN), "xset": ("setup", tuple(range(2, 33, 2)))}
    num_classes_total = 120
    max_setup = 32
    missing_list = "NTU_RGBD120_samples_with_missing_skeletons.txt"
