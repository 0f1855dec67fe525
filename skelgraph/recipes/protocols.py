"""The datasets' protocols as configuration parts (``data``) and what they need at run time: NTU's full-set test
and bundled-sample demonstration, UTKinect's folds."""

from __future__ import annotations

import os.path as osp
from dataclasses import dataclass
from typing import Any

from skelgraph.recipes.config import Section, option

DATA_ROOT_HELP = ("dataset folder (default: $SKELGRAPH_DATA/<name>, a checkout's datasets/<name>, or the user data "
                  "folder: skelgraph.datasets.default_root)")


@dataclass(frozen=True)
class MSRData(Section):
    """MSR Action3D, cross-subject, per action subset (AS1-AS3)."""

    section = "data"
    data_root: str | None = option(None, DATA_ROOT_HELP)
    subset: tuple[str, ...] = option(("AS1", "AS2", "AS3"), "action subsets to run", choices=("AS1", "AS2", "AS3"))
    tiny: bool = option(False, "a few samples only (smoke test of the recipe)")


@dataclass(frozen=True)
class FlorenceData(Section):
    """Florence 3D Actions, leave-one-actor-out."""

    section = "data"
    data_root: str | None = option(None, DATA_ROOT_HELP)
    folds: tuple[int, ...] = option(tuple(range(10)), "actors to leave out (0-9)", low=0, high=9)


@dataclass(frozen=True)
class SBUData(Section):
    """SBU Kinect Interaction, 5-fold cross-validation over sets (in metres)."""

    section = "data"
    data_root: str | None = option(None, DATA_ROOT_HELP)
    folds: tuple[int, ...] = option((0, 1, 2, 3, 4), "folds to run (0-4)", low=0, high=4)
    tiny: bool = option(False, "a few samples only (smoke test of the recipe)")


#: Training sequences per UTKinect protocol in the full release (199 clips): cross-subject about 100 (five subjects,
#: ten actions, two recordings), leave-one-sequence-out 198. The GCA recipe gives the ST-LSTM baselines the optimiser
#: steps of SBU's budgets with them (:func:`~skelgraph.recipes.defaults.same_steps`); nominal, known before any file
#: is read (``--print-config``).
UTKINECT_TRAIN_SEQUENCES: dict[str, int] = {"xsub": 100, "loso": 198}


@dataclass(frozen=True)
class UTKinectData(Section):
    """UTKinect-Action3D, cross-subject or leave-one-sequence-out."""

    section = "data"
    data_root: str | None = option(None, DATA_ROOT_HELP)
    protocol: str = option("xsub", "cross-subject (odd subjects train), or leave-one-sequence-out (one fold per "
                           "clip)", choices=("loso", "xsub"))
    folds: tuple[int, ...] | None = option(None, "folds to run (default: all)", low=0)
    save_fold_runs: bool = option(False, "leave-one-out: write every fold's run folder (checkpoints, plots); by "
                                  "default the folds keep their best weights in memory and only summary.json is "
                                  "written")


@dataclass(frozen=True)
class FileData(Section):
    """Skeleton data of your own (``python -m skelgraph.train``): a
    :class:`~skelgraph.datasets.SkeletonFolder` directory, a PYSKL annotation ``.pkl`` or a CTR-GCN ``.npz``
    archive (:func:`~skelgraph.datasets.files.open_dataset`) and its layout."""

    section = "data"
    data: str | None = option(None, "(required) a SkeletonFolder directory, a PYSKL annotation .pkl or a CTR-GCN "
                              ".npz archive")
    layout: str | None = option(None, "(required) registered layout name (coco17, openpose18, mediapipe_pose33, "
                                "mediapipe_hand21, ntu, ...) or a layout JSON file")
    train_split: str = option("train", "the data's training split (e.g. xsub_train of a PYSKL file); a validation "
                              "split is carved from it")
    test_split: str = option("test", "the data's test split (e.g. xsub_val of a PYSKL file)")
    json_key: str = option("coords", "key of the coordinates in a folder's .npz / JSON files (NW-UCLA: skeletons)")
    class_names: str | None = option(None, "a .pkl / .npz dataset: one class name per line, in label order (default: "
                                     "0 .. K-1)", metavar="FILE")
    score_channel: bool = option(False, "give the model each joint's confidence score as one more channel (the data "
                                 "must have scores)")
    auto_epochs: bool = option(True, "keep --epochs as given instead of the epoch-budget rule for the training "
                               "split's size (skelgraph.train.epoch_budget; giving --epochs also keeps it)",
                               flags=("--fixed-epochs",), negate=True)


def msr_splits(data: MSRData, subset: str) -> tuple[Any, Any]:
    """The cross-subject train and test splits of one MSR Action3D subset (with ``data.tiny``, a few samples)."""
    from skelgraph.datasets.msr import MSRAction3D

    train_full = MSRAction3D(data.data_root, subset=subset, split="train")
    test = MSRAction3D(data.data_root, subset=subset, split="test")
    if data.tiny:
        train_full, test = train_full[::8], test[::12]
    return train_full, test


def utkinect_folds(data: UTKinectData) -> tuple[list[int], bool]:
    """The folds of ``data.protocol`` (``data.folds`` or all) and whether they run lean (leave-one-out without
    ``save_fold_runs``: no per-fold files)."""
    from skelgraph.datasets.utkinect import UTKinect

    if data.folds:
        folds = list(data.folds)
    elif data.protocol == "xsub":
        folds = [0]
    else:
        folds = list(range(len(UTKinect(data.data_root, protocol="loso").folds)))
    return folds, data.protocol == "loso" and not data.save_fold_runs


@dataclass(frozen=True)
class NTUData(Section):
    """NTU RGB+D 60 / 120 and its benchmark."""

    section = "data"
    data_root: str | None = option(None, DATA_ROOT_HELP)
    dataset: str = option("ntu60", "NTU RGB+D 60 or 120", choices=("ntu60", "ntu120"))
    benchmark: str = option("xsub", "xsub and xview for NTU60, xsub and xset for NTU120",
                            choices=("xsub", "xview", "xset"))


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


def _ntu_root(dataset: str, data_root: str | None) -> tuple[Any, str]:
    from skelgraph.datasets.base import default_root
    from skelgraph.datasets.ntu import NTU60, NTU120

    cls = NTU60 if dataset == "ntu60" else NTU120
    return cls, data_root or default_root(cls.folder)


def ntu_full(dataset: str, data_root: str | None) -> bool:
    """Whether the full NTU set ``dataset`` is under ``data_root`` (or the default root); without it the recipes
    run their demonstration on the bundled samples."""
    from skelgraph.datasets.ntu import FULL_DIR

    return osp.isdir(osp.join(_ntu_root(dataset, data_root)[1], "raw", FULL_DIR))


def resolve_ntu_demo(plain: dict[str, Any], given: frozenset[str], **demo: Any) -> bool:
    """The NTU recipes' rule: without the full set (:func:`ntu_full`) the run is a demonstration on the bundled
    samples, with no validation split (too few samples), the ``demo`` optimisation values (e.g. ``epochs=4``) and
    ``--keep model`` (model.pt, no last.pt to resume: GCA-LSTM's NTU configuration weighs 323 MB, its optimiser
    state as much again) for the options not given, so that ``--print-config`` shows them. Returns whether the full
    set is there."""
    if ntu_full(plain["data"]["dataset"], plain["data"]["data_root"]):
        return True
    plain["protocol"]["val_fraction"] = 0.0
    if "run.keep" not in given:
        plain["run"]["keep"] = "model"
    for key, value in demo.items():
        if f"optim.{key}" not in given:
            plain["optim"][key] = value
    return False


def ntu_splits(data: NTUData) -> tuple[Any, Any, bool]:
    """NTU train and test splits of ``data`` and whether the full set is there. Without it, explains where to get
    it and uses the bundled samples (the recipes' rule has already set no validation split)."""
    from skelgraph.datasets.ntu import FULL_DIR, SAMPLES_DIR

    cls, root = _ntu_root(data.dataset, data.data_root)
    full = ntu_full(data.dataset, data.data_root)
    if not full:
        print(NTU_MISSING.format(full=osp.join(root, "raw", FULL_DIR), samples=osp.join(root, "raw", SAMPLES_DIR)))
    return cls(root, benchmark=data.benchmark, split="train"), cls(root, benchmark=data.benchmark, split="test"), full
