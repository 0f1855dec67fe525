"""Derive the bundled 2-D keypoint example from the bundled MSR Action3D skeletons (see SOURCE.md here).

    python datasets/msr_action3d_2d/derive.py      # rewrites the files of this folder

Each 3-D joint (metres, y up, z away from the sensor) is projected through a pinhole camera onto a 640 x 480 image
(y down) and renamed to its COCO-17 keypoint. COCO's eyes and ears have no Kinect joint: they are put on the head
with score 0, as a pose estimator reports a keypoint it did not find; so are keypoints that fall outside the image
(a few noisy feet of "bend"). Every other keypoint has score 1.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np

from skelgraph.io.msr import read_msr_action3d, read_msr_file_list
from skelgraph.skeleton import COCO17, MSR_ACTION3D

HERE = Path(__file__).resolve().parent
RAW = HERE.parent / "msr_action3d" / "raw"
#: Four MSR actions that differ in what moves (1-based action numbers of the dataset).
ACTIONS = {1: "high arm wave", 10: "hand clap", 13: "bend", 14: "forward kick"}
TRAIN_SUBJECTS = (1, 3, 5, 7, 9)  # the standard cross-subject protocol
REPETITION = 1
#: Pinhole camera: focal length in pixels and principal point of a 640 x 480 Kinect v1 colour image.
FOCAL, CX, CY = 525.0, 320.0, 240.0
#: COCO-17 keypoint -> MSR Action3D joint; ``None``: no counterpart (placed on the head, score 0).
COCO_FROM_MSR = {
    "nose": "Head", "left_eye": None, "right_eye": None, "left_ear": None, "right_ear": None,
    "left_shoulder": "ShoulderLeft", "right_shoulder": "ShoulderRight", "left_elbow": "ElbowLeft",
    "right_elbow": "ElbowRight", "left_wrist": "WristLeft", "right_wrist": "WristRight", "left_hip": "HipLeft",
    "right_hip": "HipRight", "left_knee": "KneeLeft", "right_knee": "KneeRight", "left_ankle": "AnkleLeft",
    "right_ankle": "AnkleRight",
}


def project(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(T, 20, 3)`` MSR joints -> COCO-17 ``keypoint (T, 17, 2)`` in pixels and ``score (T, 17)``."""
    u = CX + FOCAL * xyz[..., 0] / xyz[..., 2]
    v = CY - FOCAL * xyz[..., 1] / xyz[..., 2]
    pixels = np.stack([u, v], axis=-1)
    source = [MSR_ACTION3D.joints.index(COCO_FROM_MSR[name] or "Head") for name in COCO17.joints]
    keypoint = np.round(pixels[:, source], 1).astype(np.float32)
    score = np.array([0.0 if COCO_FROM_MSR[name] is None else 1.0 for name in COCO17.joints], dtype=np.float32)
    score = np.broadcast_to(score, keypoint.shape[:2]).copy()
    # A joint the sensor lost (no depth) or one outside the image is a keypoint an estimator would not find.
    outside = (keypoint < 0).any(-1) | (keypoint[..., 0] > 2 * CX) | (keypoint[..., 1] > 2 * CY)
    score[(xyz[:, source, 2] <= 0) | outside] = 0.0
    return keypoint, score


def derive() -> dict:
    """The PYSKL annotation dict: ``split`` (``xsub_train``, ``xsub_val``) and ``annotations``."""
    used = set(read_msr_file_list(RAW / "files_used_in_cvpr12_paper.txt"))
    annotations, split = [], {"xsub_train": [], "xsub_val": []}
    for label, action in enumerate(ACTIONS):
        for subject in range(1, 11):
            name = f"a{action:02d}_s{subject:02d}_e{REPETITION:02d}"
            if name not in used:
                continue
            seq = read_msr_action3d(RAW / "MSRAction3DSkeletonReal3D" / f"{name}_skeleton3D.txt")
            keypoint, score = project(seq.coords[:, 0])
            annotations.append({"frame_dir": name, "label": label, "img_shape": (480, 640),
                                "original_shape": (480, 640), "total_frames": len(keypoint),
                                "keypoint": keypoint[None], "keypoint_score": score[None]})
            split["xsub_train" if subject in TRAIN_SUBJECTS else "xsub_val"].append(name)
    return {"split": split, "annotations": annotations}


def write(content: dict, folder: Path = HERE) -> None:
    """``msr_coco17.pkl``, ``classes.txt``, and one test clip as ``clip.json`` and as ``stream.jsonl``."""
    with open(folder / "msr_coco17.pkl", "wb") as f:
        pickle.dump(content, f, protocol=4)
    (folder / "classes.txt").write_text("".join(f"{name}\n" for name in ACTIONS.values()))
    clip = next(a for a in content["annotations"] if a["frame_dir"] == content["split"]["xsub_val"][0])
    # float64 before rounding, so that JSON holds 283.3 rather than float32's 283.29998779296875
    keypoint, score = clip["keypoint"][0].astype(np.float64).round(1), clip["keypoint_score"][0].astype(np.float64)
    (folder / "clip.json").write_text(json.dumps({"coords": keypoint.tolist(), "score": score.tolist()}) + "\n")
    (folder / "stream.jsonl").write_text("".join(
        json.dumps({"keypoints": k.tolist(), "score": s.tolist()}) + "\n" for k, s in zip(keypoint, score)))


if __name__ == "__main__":
    write(derive())
