"""`<task>@n<N>`: N labeled rows drawn by the seed from the base task's visible rows, the rest unlabeled."""

import numpy as np
import pytest

from genmbo.errors import GenmboError
from genmbo.tasks import get_task


def test_labeled_rows_are_drawn_by_the_seed_and_the_rest_is_unlabeled():
    base, small = get_task("ackley-4"), get_task("ackley-4@n50")
    visible = base.offline_dataset()
    dataset = small.offline_dataset(seed=1)
    assert len(dataset) == 50 and len(dataset.unlabeled) == len(visible) - 50
    keys = lambda designs: {tuple(np.round(design, 6)) for design in designs}  # noqa: E731
    assert keys(dataset.designs) | keys(dataset.unlabeled) == keys(visible.designs)
    assert not keys(dataset.designs) & keys(dataset.unlabeled)
    # The labeled scores are the base task's own for those designs.
    np.testing.assert_allclose(dataset.scores, base.oracle(dataset.designs))
    assert keys(small.offline_dataset(seed=1).designs) == keys(dataset.designs)
    assert keys(small.offline_dataset(seed=2).designs) != keys(dataset.designs)
    assert dataset.report.to_dict()["unlabeled"]["rows_kept"] == len(dataset.unlabeled)


def test_oracle_and_normalization_are_the_base_tasks():
    base, small = get_task("ackley-4"), get_task("ackley-4@n50")
    designs = base.offline_dataset().designs[:5]
    np.testing.assert_array_equal(small.oracle(designs), base.oracle(designs))
    np.testing.assert_array_equal(
        small.normalize(np.array([0.0, -3.0])), base.normalize(np.array([0.0, -3.0]))
    )
    assert small.name == "ackley-4@n50"


@pytest.mark.parametrize(
    ("name", "message"),
    [("ackly-4@n50", "unknown task"), ("ackley-4@n1", "at least 2 labeled rows")],
)
def test_bad_variants_are_one_line_errors(name, message):
    with pytest.raises(GenmboError, match=message):
        get_task(name)


def test_more_labels_than_visible_rows_is_refused():
    with pytest.raises(ValueError, match="visible rows"):
        get_task("ackley-4@n999999").offline_dataset()


def test_a_run_draws_its_labeled_rows_by_its_seed():
    from genmbo.campaign.inputs import resolve_dataset
    from genmbo.config import load_config

    runs = [
        resolve_dataset(load_config(None, ["task.name=ackley-4@n50", f"run.seed={seed}"]))[0]
        for seed in (0, 0, 1)
    ]
    assert [len(dataset) for dataset in runs] == [50, 50, 50]
    assert np.array_equal(runs[0].scores, runs[1].scores) and not np.array_equal(
        runs[0].scores, runs[2].scores
    )
