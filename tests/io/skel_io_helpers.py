"""Plain line-by-line reference parsers and synthetic-file writers for the reader and dataset tests."""

from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "datasets"
NTU_SAMPLES = sorted((DATA / "ntu_rgbd" / "raw" / "samples").glob("*.skeleton"))
MSR_FILES = sorted((DATA / "msr_action3d" / "raw" / "MSRAction3DSkeletonReal3D").glob("*_skeleton3D.txt"))
SBU_FILES = sorted((DATA / "sbu" / "raw").glob("s*/*/*/skeleton_pos.txt"))


def reference_ntu(path):
    """Official-MATLAB-style reader: list of frames, each a list of (body_id, [25 x 3] xyz)."""
    with open(path) as f:
        lines = [line.strip() for line in f]
    pos = 0
    n_frames = int(lines[pos])
    pos += 1
    frames = []
    for _ in range(n_frames):
        bodies = []
        n_bodies = int(lines[pos])
        pos += 1
        for _ in range(n_bodies):
            body_id = lines[pos].split()[0]
            pos += 1
            n_joints = int(lines[pos])
            pos += 1
            xyz = []
            for _ in range(n_joints):
                values = [float(v) for v in lines[pos].split()]
                xyz.append(values[:3])
                pos += 1
            bodies.append((body_id, np.array(xyz, dtype=np.float32)))
        frames.append(bodies)
    return frames


def reference_table(path, sep=None):
    """Every non-empty line as a list of floats."""
    rows = []
    with open(path) as f:
        for line in f:
            if line.strip():
                rows.append([float(v) for v in line.strip().split(sep)])
    return np.array(rows)


def write_utkinect(root, recordings, nan_entry=True, seed=0):
    """Write a synthetic UTKinect-Action3D copy in the original format (random joints, not real data).

    ``recordings``: {"s01_e01": [(action, start, end), ...]}. Frames 1..max(end)+5 with frame 3 repeated.
    Returns the joints arrays written ({key: (frames, coords)}).
    """
    rng = np.random.default_rng(seed)
    root = Path(root)
    (root / "joints").mkdir(parents=True, exist_ok=True)
    label_lines, written = [], {}
    for key, entries in recordings.items():
        label_lines.append(key)
        for action, start, end in entries:
            label_lines.append(f"{action}: {start} {end}")
        if nan_entry and key == next(iter(recordings)):
            label_lines.append("carry:  NaN NaN")
        last = max(e for _, _, e in entries) + 5
        frames = np.concatenate([np.arange(1, 4), [3], np.arange(4, last + 1)])
        coords = rng.normal(size=(len(frames), 20, 3)).round(6)
        table = np.concatenate([frames[:, None], coords.reshape(len(frames), -1)], axis=1)
        body = "\n".join(f"{int(r[0])} " + " ".join(f"{v:.6f}" for v in r[1:]) for r in table)
        (root / "joints" / f"joints_{key}.txt").write_text(body + "\n")
        written[key] = (frames, coords)
    (root / "actionLabel.txt").write_text("\n".join(label_lines) + "\n")
    return written


def write_florence(path, videos, seed=0):
    """Write a synthetic Florence_dataset_WorldCoordinates.txt (random joints, not real data).

    ``videos``: list of (video, actor, category, n_frames). Returns {video: coords [T, 15, 3]}.
    """
    rng = np.random.default_rng(seed)
    lines, written = [], {}
    for video, actor, category, n in videos:
        coords = rng.normal(size=(n, 15, 3)).round(4)
        written[video] = coords
        for frame in coords:
            lines.append(f"{video} {actor} {category} " + " ".join(f"{v:.4f}" for v in frame.reshape(-1)))
    Path(path).write_text("\n".join(lines) + "\n")
    return written


#: Synthetic UTKinect label entries used by several tests.
UTK_RECORDINGS = {
    "s01_e01": [("walk", 2, 10), ("sitDown", 12, 20)],
    "s02_e02": [("walk", 1, 5), ("pickUp", 8, 14)],
}
