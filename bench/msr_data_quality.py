"""What MSR Action3D's skeletons are made of: left/right swaps, jitter, outlier frames and bone-length noise, per
sequence, per subject and per action subset (issue 35, "the data").

    python bench/msr_data_quality.py                 # the 557-file list; prints a table, saves the JSON
    python bench/msr_data_quality.py --list all      # all 567 files

Every measure is computed on the raw world coordinates (metres) of the bundled files, frame by frame, with no
model involved; nothing here reads a label other than the file name. The measures:

- **crossed legs**: a frame whose knees, ankles or feet lie in the opposite left/right order to its hips along
  the hip axis (a subject standing or walking does not cross a knee past the other; the sensor's left/right
  confusion does). A sequence is *swapped* where at least half of its frames are crossed.
- **crossed arms**: the same test for elbows, wrists and hands against the shoulders; arms do cross in some
  actions (draw x, hand clap, tennis), so this is reported, not counted as an error.
- **jitter**: the median over joints and frames of the second difference |x[t+1] - 2 x[t] + x[t-1]| (metres),
  the part of the motion a smooth trajectory does not explain.
- **outlier frames**: frames where a joint jumps by more than 0.25 m from both neighbours' mean (at 15 fps that
  is 3.75 m/s; hands of a fast punch reach about 0.15 m per frame).
- **bone-length noise**: the coefficient of variation of each bone's length over the sequence (a rigid body
  gives 0), averaged over bones.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from skelgraph.io.msr import read_msr_action3d, read_msr_file_list
from skelgraph.skeleton import MSR_ACTION3D

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "datasets" / "msr_action3d" / "raw"
SUBSETS = {"AS1": [2, 3, 5, 6, 10, 13, 18, 20], "AS2": [1, 4, 7, 8, 9, 11, 12, 14],
           "AS3": [6, 14, 15, 16, 17, 18, 19, 20]}
OUTLIER_METRES = 0.25


def _j(name: str) -> int:
    return MSR_ACTION3D.joints.index(name)


def _side_order(x: np.ndarray, axis: np.ndarray, left: str, right: str) -> np.ndarray:
    """Signed distance of ``left`` minus ``right`` along the hip axis, per frame."""
    return ((x[:, _j(left)] - x[:, _j(right)]) * axis).sum(-1)


def measure(x: np.ndarray) -> dict[str, float]:
    """The measures of one sequence, ``x``: ``[T, 20, 3]`` in metres (zero frames already dropped)."""
    hips = x[:, _j("HipLeft")] - x[:, _j("HipRight")]
    axis = hips / np.maximum(np.linalg.norm(hips, axis=-1, keepdims=True), 1e-9)  # left-pointing hip axis
    legs = np.stack([_side_order(x, axis, f"{p}Left", f"{p}Right") for p in ("Knee", "Ankle", "Foot")], -1)
    arms_axis = x[:, _j("ShoulderLeft")] - x[:, _j("ShoulderRight")]
    arms_axis = arms_axis / np.maximum(np.linalg.norm(arms_axis, axis=-1, keepdims=True), 1e-9)
    arms = np.stack([_side_order(x, arms_axis, f"{p}Left", f"{p}Right") for p in ("Elbow", "Wrist", "Hand")], -1)
    crossed_legs = (legs < 0).sum(-1) >= 2  # two of knee / ankle / foot on the wrong side
    crossed_arms = (arms < 0).sum(-1) >= 2
    out = {"frames": int(len(x)), "crossed_legs": float(crossed_legs.mean()),
           "crossed_arms": float(crossed_arms.mean())}
    if len(x) >= 3:
        second = np.linalg.norm(x[2:] - 2 * x[1:-1] + x[:-2], axis=-1)
        out["jitter_mm"] = float(np.median(second) * 1000)
        jump = np.linalg.norm(x[1:-1] - (x[2:] + x[:-2]) / 2, axis=-1)
        out["outlier_frames"] = int((jump.max(-1) > OUTLIER_METRES).sum())
    else:
        out["jitter_mm"], out["outlier_frames"] = float("nan"), 0
    cv = []
    for a, b in MSR_ACTION3D.bones:
        length = np.linalg.norm(x[:, _j(a)] - x[:, _j(b)], axis=-1)
        cv.append(length.std() / max(length.mean(), 1e-9))
    out["bone_cv"] = float(np.mean(cv))
    return out


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--list", choices=["cvpr12", "all"], default="cvpr12")
    p.add_argument("--save", default=str(ROOT / "bench" / "results" / "accuracy" / "msr_data_quality.json"))
    args = p.parse_args(argv)
    folder = RAW / "MSRAction3DSkeletonReal3D"
    files = sorted(folder.glob("*_skeleton3D.txt"))
    if args.list == "cvpr12":
        keep = set(read_msr_file_list(RAW / "files_used_in_cvpr12_paper.txt"))
        files = [f for f in files if f.name.replace("_skeleton3D.txt", "") in keep]
    per_sequence = {}
    for f in files:
        try:
            seq = read_msr_action3d(f)
        except Exception as e:  # noqa: BLE001 - an unreadable file is a finding, reported as such
            per_sequence[f.name] = {"error": str(e)}
            continue
        m = measure(np.asarray(seq.coords)[:, 0])
        m.update(action=int(seq.meta["name"][1:3]), subject=int(seq.meta["subject"]),
                 zero_frames=int(seq.meta["zero_frames"]))
        per_sequence[seq.meta["name"]] = m
    good = {k: v for k, v in per_sequence.items() if "error" not in v}

    def summarise(names: list[str]) -> dict[str, float]:
        rows = [good[n] for n in names]
        return {"sequences": len(rows),
                "swapped_legs": sum(r["crossed_legs"] >= 0.5 for r in rows),
                "some_crossed_legs": sum(r["crossed_legs"] > 0 for r in rows),
                "median_jitter_mm": float(np.nanmedian([r["jitter_mm"] for r in rows])),
                "with_outlier_frames": sum(r["outlier_frames"] > 0 for r in rows),
                "outlier_frames": sum(r["outlier_frames"] for r in rows),
                "median_bone_cv": float(np.median([r["bone_cv"] for r in rows]))}

    groups: dict[str, list[str]] = {"all": list(good)}
    for s in range(1, 11):
        groups[f"subject {s:02d}"] = [n for n, r in good.items() if r["subject"] == s]
    for name, actions in SUBSETS.items():
        for split, subjects in (("train", (1, 3, 5, 7, 9)), ("test", (2, 4, 6, 8, 10))):
            groups[f"{name} {split}"] = [n for n, r in good.items()
                                         if r["action"] in actions and r["subject"] in subjects]
    summary = {g: summarise(n) for g, n in groups.items() if n}
    swapped = sorted(n for n, r in good.items() if r["crossed_legs"] >= 0.5)
    result = {"files": args.list, "outlier_metres": OUTLIER_METRES, "summary": summary, "swapped_legs": swapped,
              "unreadable": sorted(k for k, v in per_sequence.items() if "error" in v),
              "per_sequence": per_sequence}
    print(f"MSR Action3D ({args.list}: {len(per_sequence)} files, {len(good)} readable)")
    print(f"{'group':<12} {'seqs':>5} {'legs swapped':>12} {'some crossed':>12} {'jitter mm':>9} "
          f"{'w/ outliers':>11} {'outlier frames':>14} {'bone CV':>8}")
    for g, s in summary.items():
        print(f"{g:<12} {s['sequences']:>5} {s['swapped_legs']:>12} {s['some_crossed_legs']:>12} "
              f"{s['median_jitter_mm']:>9.1f} {s['with_outlier_frames']:>11} {s['outlier_frames']:>14} "
              f"{s['median_bone_cv']:>8.3f}")
    print("legs swapped in at least half the frames:", " ".join(swapped) or "none")
    Path(args.save).write_text(json.dumps(result, indent=1))
    print(f"saved {args.save}")
    return result


if __name__ == "__main__":
    main()
