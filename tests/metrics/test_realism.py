import numpy as np
import pytest
import torch

from genmbo.metrics import realism
from genmbo.metrics.molecule_realism import molecule_property_metrics
from genmbo.metrics.realism import library_realism, realism_with_floor, split_reference, top_decile
from genmbo.resources import moses_subset_smiles
from genmbo.spaces import MoleculeSpace, SequenceSpace


def test_split_reference_gives_two_disjoint_subsets_of_the_asked_size():
    designs = list(range(50))
    floor, reference = split_reference(designs, 10, torch.Generator().manual_seed(0))
    assert len(floor) == len(reference) == 10 and not set(floor) & set(reference)
    floor, reference = split_reference(designs, 40, torch.Generator().manual_seed(0))
    assert len(floor) == len(reference) == 25 and set(floor) | set(reference) == set(designs)


def test_top_decile_takes_the_highest_scores():
    designs = [f"d{index}" for index in range(30)]
    assert top_decile(designs, np.arange(30.0)) == ["d29", "d28", "d27"]
    assert top_decile(designs[:3], np.array([1.0, 3.0, 2.0])) == ["d1"]


def test_floor_of_a_sequence_prior_sits_beside_its_samples():
    space = SequenceSpace(list("ACGT"), length=4)
    real = ["ACGT", "AAGT", "ACGA", "CCGT"] * 5
    # Floor and reference hold the same four designs twice each: a floor of exactly 0.
    result = realism_with_floor(space, ["TTTT"] * 8, real[:8], real[8:16], real)
    assert result["floor"]["positional_js"] == pytest.approx(0.0, abs=1e-12)
    assert result["samples"]["positional_js"] > 0.5 and result["samples"]["unseen_transition_share"] == 1.0


def test_library_realism_compares_the_library_with_the_offline_data_and_its_best(monkeypatch):
    smiles = list(moses_subset_smiles()[:60])
    scores = np.arange(60.0)
    library = smiles[:25]
    assert library_realism(SequenceSpace(list("ACGT"), length=4), ["ACGT"], ["ACGT"], np.ones(1)) == {}
    monkeypatch.setattr(realism, "MIN_FCD_MOLECULES", 20)
    result = library_realism(MoleculeSpace(), library + [None], smiles, scores)
    assert result["library"] == pytest.approx(molecule_property_metrics(library))
    # All 60 offline molecules: fewer than the sample cap.
    assert result["offline"] == pytest.approx(molecule_property_metrics(smiles))
    assert result["offline_top_decile"] == pytest.approx(molecule_property_metrics(smiles[54:]))
    assert 0 < result["fcd_to_offline"] < 20 and "fcd_note" not in result


def test_offline_property_metrics_are_cached_by_content(tmp_path, monkeypatch):
    monkeypatch.setenv("GENMBO_CACHE_DIR", str(tmp_path / "cache"))
    calls = []

    def counting(smiles, offline=False):
        calls.append(len(smiles))
        return molecule_property_metrics(smiles, offline)

    monkeypatch.setattr(realism, "molecule_property_metrics", counting)
    smiles = list(moses_subset_smiles()[:40])
    first = realism.cached_property_metrics(smiles)
    assert first == molecule_property_metrics(smiles) and calls == [40]
    assert realism.cached_property_metrics(smiles) == first and calls == [40]  # read back, not recomputed
    realism.cached_property_metrics(smiles[:39])  # other molecules miss
    assert calls == [40, 39]
    monkeypatch.setenv("GENMBO_CACHE_DIR", "off")
    realism.cached_property_metrics(smiles)
    assert calls == [40, 39, 40]
