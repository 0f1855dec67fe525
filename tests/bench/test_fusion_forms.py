"""bench/fusion_forms.py on hand-made screen parts (generated logits, not data): each fusion form against its
definition written out, the default form's check against the stored curves, and the inner-CV value as
``choose_epoch`` takes it."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

from skelgraph.nn.arrn import fuse_scores
from skelgraph.training.selection import choose_epoch

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def script(monkeypatch):
    spec = importlib.util.spec_from_file_location("fusion_forms", ROOT / "bench" / "fusion_forms.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "fusion_forms", module)
    spec.loader.exec_module(module)
    return module


def test_each_form_against_its_definition(script):
    g = torch.Generator().manual_seed(0)
    joint, line = torch.randn(200, 6, generator=g) * 3, torch.randn(200, 6, generator=g) * 3
    for alpha in (0.5, 0.2):
        library = fuse_scores(joint, line, alpha).argmax(-1)  # Eq. (12), what the model's forward gives
        assert torch.equal(script.fused_predictions(joint, line, alpha, "probabilities"), library)
        product = (joint.softmax(-1) ** alpha * line.softmax(-1) ** (1 - alpha)).argmax(-1)
        assert torch.equal(script.fused_predictions(joint, line, alpha, "logits"), product)
    best = torch.stack([joint.softmax(-1), line.softmax(-1)]).amax(0).argmax(-1)
    assert torch.equal(script.fused_predictions(joint, line, 0.5, "max"), best)
    differ = (script.fused_predictions(joint, line, 0.5, "logits") != library).sum()
    assert differ > 0, "the example must tell the forms apart"
    with pytest.raises(ValueError, match="unknown fusion form"):
        script.fused_predictions(joint, line, 0.5, "mean")


def _part(g: torch.Generator, epochs: int, n: int, tamper: bool = False) -> dict:
    scores, curve = [], []
    for _ in range(epochs):
        joint, line = torch.randn(n, 4, generator=g) * 2, torch.randn(n, 4, generator=g) * 2
        y = torch.randint(0, 4, (n,), generator=g)
        scores.append([joint.tolist(), line.tolist(), y.tolist()])
        hits = (0.5 * joint.softmax(-1) + 0.5 * line.softmax(-1)).argmax(-1) == y
        curve.append(float(hits.float().mean()))
    if tamper:
        curve[0] += 0.01
    return {"measured": {"sizes": [n], "train_loss": [[1.0] * epochs],
                         "variants": {"ema10": {"curves": [curve], "scores": [scores]}}}}


def test_screen_from_parts_and_its_check(script, tmp_path, capsys):
    g = torch.Generator().manual_seed(1)
    parts = [_part(g, 7, 9), _part(g, 7, 13)]
    for i, part in enumerate(parts):
        (tmp_path / f"s.part{i}.json").write_text(json.dumps(part))
    script.main(["s", "--results", str(tmp_path), "--save", "forms", "--smooth", "3"])
    saved = json.loads((tmp_path / "forms.json").read_text())
    assert saved["sizes"] == [9, 13]
    stored = [p["measured"]["variants"]["ema10"]["curves"][0] for p in parts]
    want = choose_epoch(stored, [9, 13], 3)
    row = saved["forms"]["probabilities"]
    assert (row["inner_cv_value"], row["epoch"]) == (want["value"], want["epoch"])
    for form in ("logits", "max"):  # written out: each fold's accuracy per epoch, then choose_epoch
        curves = []
        for part in parts:
            scores = part["measured"]["variants"]["ema10"]["scores"][0]
            curves.append([float((script.fused_predictions(torch.tensor(j), torch.tensor(ln), 0.5, form)
                                  == torch.tensor(y)).float().mean()) for j, ln, y in scores])
        assert saved["forms"][form]["inner_cv_value"] == choose_epoch(curves, [9, 13], 3)["value"]
        assert saved["forms"][form]["last_epoch_per_fold"] == [c[-1] for c in curves]
    assert "inner-CV value" in capsys.readouterr().out
    (tmp_path / "s.part1.json").write_text(json.dumps(_part(g, 7, 13, tamper=True)))
    with pytest.raises(SystemExit, match="does not reproduce the stored curve"):
        script.main(["s", "--results", str(tmp_path)])
    with pytest.raises(SystemExit, match="no parts"):
        script.main(["absent", "--results", str(tmp_path)])
