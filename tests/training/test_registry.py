"""Checkpoint specs rebuild the same models (every class, one construction style); specs from files are checked
against declared ranges and size limits before anything is built; pre-processing refuses non-finite output."""

import numpy as np
import pytest
import torch

from skelgraph.data import SkeletonSequence, to_data
from skelgraph.nn import ARRNLSTM, GCALSTM, STLSTMClassifier, TwoStreamGCALSTM
from skelgraph.skeleton import SBU
from skelgraph.training.registry import (
    NonFiniteError,
    build_model,
    build_transform,
    check_pipeline_spec,
    dataset_class,
    model_spec,
    pipeline_spec,
)

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


def test_arrn_edges_round_trip_through_plain_data_and_are_checked_against_the_joints():
    """An ARRN-LSTM over given edges (the bones) is rebuilt from its spec as a checkpoint keeps it (JSON-like
    plain data); the model refuses pairs outside its own joints even where the spec's declared range allows them."""
    import json

    from skelgraph.skeleton import MSR_ACTION3D

    bones = [(MSR_ACTION3D.index(a), MSR_ACTION3D.index(b)) for a, b in MSR_ACTION3D.bones]
    model = ARRNLSTM.from_paper("msr", num_classes=8, M=4, E=1, att_channels=4, lstm_sizes=(4,), edges=bones)
    spec = json.loads(json.dumps(model_spec(model)))
    assert spec["kwargs"]["edges"] == [list(e) for e in bones]
    rebuilt = build_model(spec)
    assert rebuilt.config.edges == tuple(bones)
    rebuilt.load_state_dict(model.state_dict())  # the edges are no parameters or saved buffers
    with pytest.raises(ValueError, match="pairs of two different joint indices in 0..19"):
        build_model(arrn_spec(edges=[[0, 20]]))
    with pytest.raises(ValueError, match="pairs of two different joint indices"):
        build_model(arrn_spec(edges=[[3, 3]]))


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
    window = json.loads(json.dumps(pipeline_spec("sbu", 20, sampling="window")))
    assert sampler(window, True).mode == "window" and sampler(window, False).mode == "uniform"
    with pytest.raises(ValueError, match="sampling must be one of"):
        check_pipeline_spec(dict(plain, sampling="crop"))


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
    assert centring(sequence, True).over == "first"
    mean = json.loads(json.dumps(pipeline_spec("sbu", 20, center="mean")))
    assert all(not centring(mean, t).per_frame and centring(mean, t).over == "mean" for t in (True, False))
    with pytest.raises(ValueError, match="center must be one of"):
        pipeline_spec("sbu", 20, center="hip")
    with pytest.raises(ValueError, match="pipeline spec: center must be one of"):  # e.g. an edited checkpoint
        build_transform(dict(plain, center="hip"))


def test_clean_up_steps_are_part_of_the_pipeline_spec_and_come_first_for_training_and_test():
    import json

    from skelgraph.training.registry import build_transform, pipeline_spec
    from skelgraph.transforms import CenterJoints, SmoothTime, UncrossLegs

    plain = pipeline_spec("msr_action3d", 20)
    assert "uncross_legs" not in plain and "smooth" not in plain  # earlier specs stay as they were
    assert not any(isinstance(t, (UncrossLegs, SmoothTime)) for t in build_transform(plain).transforms)
    spec = json.loads(json.dumps(pipeline_spec("msr_action3d", 20, uncross_legs=True, smooth=(5, 2))))
    for train in (True, False):
        steps = build_transform(spec, train=train).transforms
        assert isinstance(steps[0], UncrossLegs) and isinstance(steps[1], SmoothTime)
        assert (steps[1].window, steps[1].order) == (5, 2) and isinstance(steps[2], CenterJoints)


# ------------------------------------------------------------------------------ specs from files are bounded
def arrn_spec(**changes):
    spec = model_spec(MODELS["arrn"]())
    spec["kwargs"].update(changes)
    return spec


@pytest.mark.parametrize("field, value", [
    ("E", 10**9), ("E", 0), ("message_layers", 10**7), ("lstm_sizes", [12000]), ("lstm_sizes", [0]),
    ("lstm_sizes", []), ("lstm_sizes", "512"), ("dropout", float("nan")), ("dropout", 1.0), ("dropout", -0.1),
    ("T", 0.5), ("T", True), ("num_classes", "8"), ("num_joints", 10**6), ("M", -1), ("alpha", float("inf")),
    ("streams", [{"a": 1}]), ("readout", "x" * 1000),
    ("edges", [[0, 1024]]), ("edges", [[0, 1, 2]]), ("edges", []), ("edges", "bones"), ("edges", [[0.5, 1]]),
    ("edges", [[0, 1]] * 70_000),
])
def test_model_spec_fields_outside_their_range_are_refused_naming_the_field(field, value):
    with pytest.raises(ValueError, match=rf"model spec: {field} must") as err:
        build_model(arrn_spec(**{field: value}))
    assert "\n" not in str(err.value)


def test_an_absurd_model_is_refused_before_anything_is_allocated(monkeypatch):
    import skelgraph.training.registry as registry

    with pytest.raises(ValueError, match="would have 530,"):  # lstm_sizes=[8000]: 2 GB of float32 weights
        build_model(model_spec(ARRNLSTM(25, 60, lstm_sizes=(8,))) | {"kwargs": {
            **model_spec(ARRNLSTM(25, 60, lstm_sizes=(8,)))["kwargs"], "lstm_sizes": [8000]}})
    monkeypatch.setattr(registry, "SPEC_LIMITS", registry.SpecLimits(parameters=1000))
    with pytest.raises(ValueError, match=r"parameters, above the limit of 1,000 \(skelgraph"):
        build_model(arrn_spec())
    monkeypatch.setattr(registry, "SPEC_LIMITS", registry.SpecLimits(activation_bytes=1000))
    with pytest.raises(ValueError, match="GiB of activations"):
        build_model(arrn_spec())


def test_line_features_and_wide_messages_count_towards_the_activation_limit():
    """ARRN-LSTM's line features (``J`` offsets of ``in_channels`` per node) and a message MLP wider than ``M`` are
    activations too: a spec whose only large part is one of them is refused before anything is allocated."""
    with pytest.raises(ValueError, match="GiB of activations"):  # 1024 x 1024 x 4096 floats per frame: 16 GiB
        build_model(arrn_spec(num_joints=1024, in_channels=4096, M=1, E=1, att_channels=1, lstm_sizes=[1],
                              streams=["line"], T=1))
    with pytest.raises(ValueError, match="GiB of activations"):  # 1000^2 messages x 2048 x 4 rounds: 30 GiB
        build_model(arrn_spec(num_joints=1000, M=1, message_channels=2048, E=4, att_channels=1, lstm_sizes=[1],
                              T=1))
    build_model(arrn_spec(num_joints=1000, M=1, message_channels=1, E=4, att_channels=1, lstm_sizes=[1], T=1))


def test_unknown_fields_and_classes_are_refused():
    with pytest.raises(ValueError, match="takes no field 'bogus'"):
        build_model(arrn_spec(bogus=1))
    with pytest.raises(ValueError, match="not a registered model class"):
        build_model({"class": "os.system", "kwargs": {}})
    with pytest.raises(ValueError, match="kwargs must be a dict"):
        build_model({"class": arrn_spec()["class"], "kwargs": [1, 2]})


@pytest.mark.parametrize("field, value, message", [
    ("T", 2.5, "T must be an integer"), ("T", 10**9, "T must be an integer"), ("T", 0, "T must be an integer"),
    ("sampling", "sideways", "sampling must be one of"), ("center", "middle", "center must be one of"),
    ("scale", float("nan"), "scale must be a finite positive"), ("scale", 0.0, "scale must be a finite positive"),
    ("stack_bodies", 10**6, "stack_bodies must be"), ("velocity", "yes", "velocity must be true or false"),
    ("augment", {"noise": float("nan")}, "noise must be finite"), ("augment", {"rotate": [1e9]}, "rotate must be"),
    ("augment", {"scale": [2, 1]}, "augment scale must be"), ("augment", {"swap": 2}, "swap must be a probability"),
    ("augment", {"warp": 1}, "augment must be a dict of"), ("extra", 1, "no field 'extra' is known"),
    ("uncross_legs", 1, "uncross_legs must be true or false"), ("smooth", [4, 2], "smooth must be"),
    ("smooth", [5, 5], "smooth must be"), ("smooth", [10**6 + 1, 2], "smooth must be"), ("smooth", 5, "smooth must be"),
])
def test_pipeline_spec_fields_outside_their_range_are_refused(field, value, message):
    spec = pipeline_spec("sbu", 8)
    spec[field] = value
    with pytest.raises(ValueError, match=message):
        check_pipeline_spec(spec)
    with pytest.raises(ValueError, match=message):
        build_transform(spec)


def test_preprocessing_that_overflows_float32_is_refused_naming_the_sample():
    coords = np.zeros((4, 1, SBU.num_joints, 3), np.float32)
    coords[1, 0, 3] = 3e38  # finite, but centring subtracts -3e38-ish means and velocity differences overflow
    coords[2, 0, 3] = -3e38
    data = to_data(SkeletonSequence(coords, SBU, meta={"name": "big"}))
    with pytest.raises(NonFiniteError, match="big: pre-processing"):
        build_transform(pipeline_spec("sbu", 4, velocity=True))(data)
    fine = to_data(SkeletonSequence(np.ones_like(coords), SBU, meta={"name": "fine"}))
    assert torch.isfinite(build_transform(pipeline_spec("sbu", 4, velocity=True))(fine).x).all()


def test_sizing_on_the_meta_device_leaves_shared_layouts_alone():
    from skelgraph.skeleton import Layout

    fresh = Layout.from_dict(SBU.to_dict())  # nothing cached yet, as in a new process
    spec = model_spec(TwoStreamGCALSTM(fresh, 8, num_frames=5, hidden_channels=4))
    spec["kwargs"]["layout"] = fresh
    model = build_model(spec)
    assert fresh.__dict__.get("part_index", torch.empty(0)).device.type == "cpu"
    assert all(t.device.type == "cpu" for t in [*model.parameters(), *model.buffers()])
    model.to("cpu")
