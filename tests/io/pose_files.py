"""Generated (synthetic) pose-estimator data for the tests: PYSKL annotation files, CTR-GCN archives and
keypoint arrays with confidence scores. Not real data: random skeletons whose classes differ by which joints
move, so that a tiny model can tell them apart."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from skelgraph.skeleton import COCO17, Layout


def pose_clip(rng: np.random.Generator, label: int, T: int, layout: Layout = COCO17, bodies: int = 1,
              scale: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    """``(keypoint [M, T, J, C], score [M, T, J])``: a random skeleton around (320, 240) pixels whose joint
    ``label`` moves in a circle; scores in (0.3, 1), one joint missed (0 score, at the origin) now and then."""
    J, C = layout.num_joints, layout.ndim
    base = rng.normal(size=(bodies, 1, J, C)) * scale + np.array([320.0, 240.0, 0.0][:C])
    t = np.arange(T)[None, :, None]
    keypoint = np.repeat(base, T, axis=1)
    keypoint[:, :, label % J, 0] += 30 * np.cos(t[..., 0] / 2)
    keypoint[:, :, label % J, 1] += 30 * np.sin(t[..., 0] / 2)
    score = rng.uniform(0.3, 1.0, size=(bodies, T, J))
    missed = rng.random(size=(bodies, T, J)) < 0.05
    keypoint[missed] = 0.0
    score[missed] = 0.0
    return keypoint.astype(np.float32), score.astype(np.float32)


def pyskl_content(classes: int = 3, train_per_class: int = 4, test_per_class: int = 2, T: tuple[int, int] = (6, 12),
                  layout: Layout = COCO17, seed: int = 0, scores: bool = True) -> dict:
    """A PYSKL annotation dict: ``split`` (``xsub_train``, ``xsub_val``) and ``annotations``."""
    rng = np.random.default_rng(seed)
    annotations, split = [], {"xsub_train": [], "xsub_val": []}
    for label in range(classes):
        for k in range(train_per_class + test_per_class):
            name = f"S001C001P{k:03d}R001A{label:03d}"
            keypoint, score = pose_clip(rng, label, int(rng.integers(*T)), layout, bodies=1 + (k % 2))
            record = {"frame_dir": name, "label": label, "img_shape": (480, 640), "original_shape": (480, 640),
                      "total_frames": keypoint.shape[1], "keypoint": keypoint}
            if scores:
                record["keypoint_score"] = score
            annotations.append(record)
            split["xsub_train" if k < train_per_class else "xsub_val"].append(name)
    return {"split": split, "annotations": annotations}


def write_pyskl(path: Path, protocol: int = 4, **kwargs) -> Path:
    """Pickle :func:`pyskl_content` to ``path`` as PYSKL does (a plain dict of lists, dicts and arrays)."""
    with open(path, "wb") as f:
        pickle.dump(pyskl_content(**kwargs), f, protocol=protocol)
    return path


def write_ctrgcn(path: Path, layout: Layout, train: int = 4, test: int = 2, T: int = 10, bodies: int = 2,
                 one_hot: bool = True, seed: int = 0) -> Path:
    """A CTR-GCN-style archive: ``x_*`` ``[N, T, M * J * C]`` zero-padded (the second body of even samples
    empty, the last frames of every sample empty), ``y_*`` one-hot."""
    rng = np.random.default_rng(seed)
    J, C = layout.num_joints, layout.ndim
    arrays = {}
    for split, n in (("train", train), ("test", test)):
        x = np.zeros((n, T, bodies, J, C), np.float32)
        y = np.arange(n) % 3
        for i in range(n):
            length = T - 1 - i % 3
            keypoint, _ = pose_clip(rng, int(y[i]), length, layout, bodies=1 if i % 2 == 0 else bodies, scale=0.3)
            keypoint[keypoint == 0] = 0.01  # no accidental zeros inside a real frame
            x[i, :length, : keypoint.shape[0]] = keypoint.transpose(1, 0, 2, 3)
        arrays[f"x_{split}"] = x.reshape(n, T, -1)
        arrays[f"y_{split}"] = np.eye(3, dtype=np.float32)[y] if one_hot else y
    np.savez(path, **arrays)
    return path
