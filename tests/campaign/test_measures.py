"""What a design run measures, on hand-made designs: the pool's MOSES-style rates and the library's nearest
offline designs."""

import numpy as np
import pytest
import torch

from genmbo.campaign.measures import measure_library, pool_metrics
from genmbo.campaign.pipeline import Library
from genmbo.data.offline import OfflineDataset
from genmbo.metrics.design_distance import design_features
from genmbo.spaces import SequenceSpace

SPACE = SequenceSpace("ACGT", length=4)
OFFLINE = OfflineDataset(SPACE, ["AAAA", "CCCC", "GGGG"], np.array([0.0, 1.0, 2.0]))


def test_pool_rates_count_invalid_repeated_and_offline_designs():
    # 6 proposals: one undecodable, 5 valid of which 4 distinct, 1 of those already measured.
    pool = pool_metrics(OFFLINE, ["ACGT", None, "ACGT", "TTTT", "GGGG", "AAAT"])
    assert pool["size"] == 6
    assert pool["validity"] == pytest.approx(5 / 6)
    assert pool["uniqueness"] == pytest.approx(4 / 5)
    assert pool["novelty"] == pytest.approx(3 / 4)


def test_library_nearest_offline_designs_and_diversity():
    designs = ["AAAT", "GGCC"]
    features = design_features(SPACE, designs)
    none = torch.zeros(len(designs))
    library = Library(designs, none, none, none, torch.zeros(2, 1), features, {}, {})
    measures = measure_library(OFFLINE, library)
    # AAAT is one position from AAAA (row 0); GGCC two from CCCC and from GGGG, the first of them kept.
    assert measures.nearest_values.tolist() == [1.0, 2.0]
    assert measures.nearest_rows.tolist() == [0, 1]
    assert measures.metrics["nearest_offline_distance"] == pytest.approx(1.5)
    assert measures.metrics["novelty"] == 1.0
    assert measures.metrics["diversity"] == pytest.approx(4.0)  # AAAT and GGCC differ at every position


def test_measure_offline_files_what_the_metrics_stage_reads(monkeypatch, tmp_path):
    from genmbo.campaign.measures import measure_offline
    from genmbo.metrics import design_distance, realism
    from genmbo.resources import moses_subset_smiles
    from genmbo.spaces import MoleculeSpace

    monkeypatch.setattr(design_distance, "CACHE_MIN_MOLECULES", 10)  # cache a small set's fingerprints
    smiles = list(moses_subset_smiles()[:40])
    dataset = OfflineDataset(MoleculeSpace(), smiles, np.arange(40.0))
    monkeypatch.setenv("GENMBO_CACHE_DIR", "off")
    expected = realism.offline_realism(smiles, dataset.scores)
    features = design_features(dataset.space, smiles)
    monkeypatch.setenv("GENMBO_CACHE_DIR", str(tmp_path))
    measure_offline(dataset)

    def computed_again(*args, **kwargs):
        raise AssertionError("the metrics stage computed what measure_offline filed")

    monkeypatch.setattr(design_distance, "design_features", computed_again)
    monkeypatch.setattr(realism, "molecule_property_metrics", computed_again)
    assert torch.equal(design_distance.offline_design_features(dataset.space, smiles), features)
    assert realism.offline_realism(smiles, dataset.scores) == expected
