"""Inner cross-validation helpers (skelgraph.training.selection) against plain reasoning on small inputs."""

import pytest

from skelgraph.training.selection import choose_epoch, group_splits, mean_curve, smooth


def test_group_splits_hold_out_every_group_once():
    groups = [3, 1, 1, 5, 3, 5, 9]
    splits = group_splits(groups)
    assert [h for h, _, _ in splits] == [(1,), (3,), (5,), (9,)]
    for held, train, val in splits:
        assert sorted(train + val) == list(range(len(groups)))
        assert all(groups[i] in held for i in val) and not any(groups[i] in held for i in train)
    dealt = group_splits(groups, folds=2)
    assert [h for h, _, _ in dealt] == [(1, 5), (3, 9)]
    with pytest.raises(ValueError, match="two groups"):
        group_splits([4, 4, 4])
    with pytest.raises(ValueError, match="folds"):
        group_splits(groups, folds=5)


def test_choose_epoch_peaks_on_the_weighted_smoothed_mean():
    curves = [[0.1, 0.5, 0.9, 0.4, 0.4], [0.1, 0.6, 0.5, 0.8, 0.7]]
    assert mean_curve(curves, [1, 3]) == pytest.approx([0.1, 0.575, 0.6, 0.7, 0.625])
    assert smooth([1.0, 2.0, 3.0, 4.0], 3) == pytest.approx([1.5, 2.0, 3.0, 3.5])
    choice = choose_epoch(curves, [1, 3], window=1)
    assert choice["epoch"] == 4 and choice["value"] == pytest.approx(0.7)
    assert choose_epoch([[0.5, 0.5, 0.5]], window=1)["epoch"] == 1, "ties: the earliest epoch"
    assert choose_epoch(curves, [1, 3], window=3)["epoch"] == 5  # smoothed: ..., 0.642, 0.6625 (last two only)
    with pytest.raises(ValueError):
        mean_curve([[0.1, 0.2], [0.3]])


def test_choose_epoch_keeps_the_last_epoch_for_budget_dependent_schedules():
    curves = [[0.2, 0.9, 0.4, 0.5]]
    choice = choose_epoch(curves, window=1, last=True)
    assert choice["epoch"] == 4 and choice["value"] == 0.5, "not the peak at epoch 2"
    assert choose_epoch(curves, window=1)["epoch"] == 2
