"""Checkpoint specs rebuild the same models (every class, one construction style)."""

import pytest
import torch

from skelgraph.nn import ARRNLSTM, GCALSTM, STLSTMClassifier, TwoStreamGCALSTM
from skelgraph.skeleton import SBU
from skelgraph.training.registry import build_model, dataset_class, model_spec

MODELS = {
    "arrn": lambda: ARRNLSTM.from_paper("msr", num_classes=8, M=4, E=1, att_channels=4, lstm_sizes=(4, 4)),
    "gca": lambda: GCALSTM(SBU, 8, num_frames=5, in_channels=6, hidden_channels=4),
    "gca2": lambda: TwoStreamGCALSTM(SBU, 8, num_frames=5, hidden_channels=4, share_across=True),
    "global1": lambda: STLSTMClassifier(SBU, 8, head="global_fc", num_frames=5, hidden_channels=4),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_spec_round_trip(name):
    torch.manual_seed(0)
    model = MODELS[name]()
    spec = model_spec(model)
    assert spec["class"].startswith("skelgraph.nn.") and "kwargs" in spec
    rebuilt = build_model(spec)
    assert type(rebuilt) is type(model) and repr(rebuilt) == repr(model)
    rebuilt.load_state_dict(model.state_dict())  # same parameters, same shapes


def test_old_arrn_config_spec_still_builds():
    old = {"class": "skelgraph.nn.arrn.ARRNLSTM", "config_class": "skelgraph.nn.arrn.ARRNConfig",
           "config": {"num_joints": 20, "num_classes": 8, "T": 20, "M": 4, "E": 1, "att_channels": 4,
                      "lstm_sizes": [4], "message_layers": 3, "streams": ["joint", "line"], "mask": True,
                      "dropout": 0.0, "checkpoint": False, "readout": "last_valid", "alpha": 0.5}}
    model = build_model(old)
    assert model.config.lstm_sizes == (4,) and model.config.streams == ("joint", "line")


def test_dataset_classes_by_recipe_name():
    old_sbu = {"name": "sbu", "fold": 0}  # written before SBU was read in metres: normalised units
    assert dataset_class(old_sbu).coordinate_units_per_cm(old_sbu) == pytest.approx((1 / 256, 1 / 192, 1 / 128))
    sbu = {"name": "sbu", "fold": 0, "units": "metres"}
    assert dataset_class(sbu).coordinate_units_per_cm(sbu) == (0.01, 0.01, 0.01)
    assert dataset_class({"name": "msr_action3d"}).units_per_cm == (0.01, 0.01, 0.01)
    assert dataset_class({"name": "florence_3d"}).units_per_cm is None
    with pytest.raises(ValueError, match="unknown dataset"):
        dataset_class({"name": "kinetics"})


def test_layouts_are_stored_whole_as_plain_data():
    """A model on an unregistered layout is rebuilt from its spec alone; older specs naming a layout still load."""
    import json

    from skelgraph.skeleton import LAYOUTS, Layout
    from skelgraph.training.registry import build_transform, pipeline_channels, pipeline_spec

    mine = Layout("unregistered_stick", ("head", "neck", "hip", "knee", "foot"),
                  (("head", "neck"), ("neck", "hip"), ("hip", "knee"), ("knee", "foot")), ndim=2, up="-y")
    assert mine.name not in LAYOUTS
    torch.manual_seed(0)
    model = GCALSTM(mine, 3, num_frames=4, in_channels=3, hidden_channels=4)
    spec = json.loads(json.dumps(model_spec(model)))  # what a checkpoint keeps: plain data
    assert spec["kwargs"]["layout"] == mine.to_dict()
    rebuilt = build_model(spec)
    assert rebuilt.layout == mine and repr(rebuilt) == repr(model)
    rebuilt.load_state_dict(model.state_dict())
    pipeline = json.loads(json.dumps(pipeline_spec(mine, 4, score=True)))
    assert pipeline_channels(pipeline) == 3 and build_transform(pipeline).transforms[0].layout == mine
    old = {"class": "skelgraph.nn.gca_lstm.GCALSTM", "kwargs": dict(spec["kwargs"], layout="sbu", in_channels=3)}
    assert build_model(old).layout is SBU
    assert pipeline_channels({"layout": "sbu", "T": 4, "stack_bodies": 2}) == 6  # an older pipeline spec


def test_training_frame_sampling_is_part_of_the_pipeline_spec():
    import json

    from skelgraph.training.registry import build_transform, pipeline_spec
    from skelgraph.transforms import FixedLength

    def sampler(spec, train):
        return next(t for t in build_transform(spec, train=train).transforms if isinstance(t, FixedLength))

    plain = pipeline_spec("sbu", 20)
    assert "sampling" not in plain  # specs of earlier runs and checkpoints are unchanged
    assert sampler(plain, True).mode == "random" and sampler(plain, False).mode == "uniform"
    segment = json.loads(json.dumps(pipeline_spec("sbu", 20, sampling="segment")))
    assert sampler(segment, True).mode == "segment" and sampler(segment, False).mode == "uniform"


def test_sequence_centring_is_part_of_the_pipeline_spec():
    import json

    from skelgraph.training.registry import build_transform, pipeline_spec
    from skelgraph.transforms import CenterJoints

    def centring(spec, train):
        return next(t for t in build_transform(spec, train=train).transforms if isinstance(t, CenterJoints))

    plain = pipeline_spec("sbu", 20)
    assert "center" not in plain  # specs of earlier runs and checkpoints are unchanged
    assert centring(plain, True).per_frame and centring(plain, False).per_frame
    sequence = json.loads(json.dumps(pipeline_spec("sbu", 20, center="sequence")))
    assert not centring(sequence, True).per_frame and not centring(sequence, False).per_frame
    with pytest.raises(ValueError, match="center must be one of"):
        pipeline_spec("sbu", 20, center="hip")
    with pytest.raises(ValueError, match="pipeline spec: center must be one of"):  # e.g. an edited checkpoint
        build_transform(dict(plain, center="hip"))
