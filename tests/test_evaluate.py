"""``skelgraph.evaluate`` multi-clip testing on untrained tiny ARRN-LSTM and GCA-LSTM checkpoints and a generated
PYSKL file (sequences of 4-29 frames, T = 8): one clip is the single-sampling evaluation bit for bit, N clips are
the mean probabilities of N samples built here by hand, clips of a long sequence differ, and a bad ``--clips``
is a one-line usage error."""

import numpy as np
import pytest
import torch
from pose_files import write_pyskl
from torch_geometric.data import Batch

from skelgraph.datasets.files import open_dataset
from skelgraph.evaluate import evaluate_checkpoint
from skelgraph.evaluate import main as evaluate_main
from skelgraph.nn import ARRNLSTM
from skelgraph.nn.gca_lstm import GCALSTM
from skelgraph.skeleton import COCO17
from skelgraph.training.checkpoint import export_model
from skelgraph.training.registry import build_transform, model_spec, pipeline_spec
from skelgraph.transforms import CenterJoints, FixedLength

T = 8
SPLIT = "xsub_val"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """The data file and one exported checkpoint per model (random weights: the scores only need to differ)."""
    folder = tmp_path_factory.mktemp("clips")
    data = write_pyskl(folder / "data.pkl", T=(4, 30), test_per_class=3)
    torch.manual_seed(0)
    models = {"arrn": ARRNLSTM(num_joints=17, num_classes=3, in_channels=2, T=T, M=4, E=1, att_channels=8,
                               lstm_sizes=(8,)),
              "gca": GCALSTM(COCO17, num_classes=3, num_frames=T, num_iterations=1, in_channels=2,
                             hidden_channels=4)}
    for name, model in models.items():
        meta = {"model": model_spec(model), "pipeline": pipeline_spec("coco17", T)}
        export_model(folder / f"{name}.pt", model, meta, ["0", "1", "2"])
    return folder, data, models


def evaluate(setup, name, clips=1):
    folder, data, _ = setup
    return evaluate_checkpoint(folder / f"{name}.pt", str(data), SPLIT, clips=clips)


def samples(data):
    """The split's samples as the dataset gives them, before any transform."""
    dataset = open_dataset(data, COCO17, SPLIT)
    return [dataset[i] for i in range(len(dataset))]


def frames_of_clip(n: int, k: int, N: int) -> list[int]:
    """Plain reference: in each of the T windows of width s around the evenly spaced frames, the frame at offset
    (k + 0.5) / N of the window, inside the sequence; a sequence of at most T frames keeps every frame."""
    if n <= T:
        return list(range(n))
    s = (n - 1) / (T - 1)
    return [min(max(round(t * s + ((k + 0.5) / N - 0.5) * s), 0), n - 1) for t in range(T)]


def by_hand(data, k: int, N: int):
    """Each sample of the split centred, then its clip k of N cut (or padded) by hand."""
    out = []
    for d in samples(data):
        n = int(d.num_frames)
        d = CenterJoints(COCO17)(d)
        if n > T:
            idx = torch.tensor(frames_of_clip(n, k, N))
            d.x, d.score, d.num_frames = d.x[:, idx], d.score[:, idx], torch.tensor([T])
        else:  # zero padding at the end, checked against FixedLength elsewhere
            d = FixedLength(T)(d)
        out.append(d)
    return out


@pytest.mark.parametrize("name", ["arrn", "gca"])
def test_one_clip_is_the_single_sampling_evaluation_bit_for_bit(setup, name):
    _, data, models = setup
    got = evaluate(setup, name)
    transform = build_transform(pipeline_spec("coco17", T), train=False)
    with torch.no_grad():
        logits = models[name].eval()(Batch.from_data_list([transform(d) for d in samples(data)]))
    assert torch.equal(torch.from_numpy(got["scores"]), logits.softmax(-1))
    assert got["metrics"]["top1"] == float((logits.argmax(1).numpy() == got["labels"]).mean())
    assert got["clips"] == 1


@pytest.mark.parametrize("name", ["arrn", "gca"])
def test_clips_are_the_mean_probabilities_of_hand_built_samples(setup, name):
    _, data, models = setup
    N = 3
    got = evaluate(setup, name, clips=N)
    with torch.no_grad():
        reference = torch.stack([models[name].eval()(Batch.from_data_list(by_hand(data, k, N))).softmax(-1)
                                 for k in range(N)]).mean(0)
    torch.testing.assert_close(torch.from_numpy(got["scores"]), reference, rtol=1e-5, atol=1e-6)
    assert got["metrics"]["top1"] == float((reference.argmax(1).numpy() == got["labels"]).mean())
    lengths = [int(d.num_frames) for d in samples(data)]
    assert min(lengths) <= T < max(lengths), "the data must hold short and long sequences"
    single = evaluate(setup, name)["scores"]
    long_ = np.array(lengths) > T
    # Long sequences: other frames, other scores; short ones are kept whole, so every clip is the same.
    assert not np.allclose(got["scores"][long_], single[long_], atol=1e-6)
    np.testing.assert_allclose(got["scores"][~long_], single[~long_], rtol=1e-5, atol=1e-6)


def test_the_command_writes_the_clips_scores_and_refuses_a_bad_count(setup, tmp_path, capsys):
    folder, data, _ = setup
    scores = tmp_path / "s.npz"
    assert evaluate_main(["--checkpoint", str(folder / "arrn.pt"), "--data", str(data), "--split", SPLIT,
                          "--clips", "3", "--scores", str(scores)]) == 0
    assert "3 clips" in capsys.readouterr().out
    np.testing.assert_array_equal(np.load(scores)["scores"], evaluate(setup, "arrn", clips=3)["scores"])
    for argv in (["--clips", "0"], ["--clips", "-2"], ["--clips", "x"],
                 ["--clips", "2", "--fuse", str(scores), str(scores)]):
        with pytest.raises(SystemExit) as exit_:
            evaluate_main(["--checkpoint", str(folder / "arrn.pt"), *argv] if "--fuse" not in argv else argv)
        assert exit_.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--clips" in err[0], err
    with pytest.raises(ValueError, match="clips must be at least 1"):
        evaluate_checkpoint(folder / "arrn.pt", str(data), SPLIT, clips=0)
