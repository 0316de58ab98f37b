from pathlib import Path

import numpy as np
import pytest
import torch
from rdkit import Chem, RDConfig

from genmbo.metrics.fingerprints import morgan_fingerprints
from genmbo.metrics.molecule_realism import (
    ALERT_CATALOGS,
    FrechetChemNetDistance,
    KLDivergenceScore,
    LargeRingShare,
    StructuralAlertShare,
    SyntheticAccessibility,
    continuous_kl,
    discrete_kl,
    max_internal_similarity,
    molecule_property_metrics,
)
from genmbo.resources import moses_subset_smiles
from genmbo.runtime.threads import computing_threads
from genmbo.selection.constraints import alert_catalog


@pytest.fixture(scope="module")
def moses() -> list[str]:
    return list(moses_subset_smiles()[:240])


def test_fcd_of_a_set_against_itself_is_zero_and_grows_for_other_molecules(moses):
    fcd = FrechetChemNetDistance(moses[:120])
    fcd.update(moses[:120])
    assert float(fcd.compute()) == pytest.approx(0.0, abs=1e-3)

    alkanes = ["C" * length for length in range(2, 40)] + ["C" * length + "O" for length in range(2, 40)]
    other = FrechetChemNetDistance(moses[:120])
    other.update(alkanes)
    held_out = FrechetChemNetDistance(moses[:120])
    held_out.update(moses[120:])
    assert float(other.compute()) > float(held_out.compute()) + 10.0


def test_fcd_batches_and_failed_decodes(moses):
    once = FrechetChemNetDistance(moses[:100])
    once.update(moses[100:200])
    twice = FrechetChemNetDistance(moses[:100])
    twice.update(moses[100:150] + [None])
    twice.update(moses[150:200])
    assert float(once.compute()) == pytest.approx(float(twice.compute()), rel=1e-6)
    empty = FrechetChemNetDistance(moses[:100])
    empty.update([None])
    assert np.isnan(float(empty.compute()))


def test_kl_score_of_a_set_against_itself_is_one(moses):
    score = KLDivergenceScore(moses[:150])
    score.update(moses[:150])
    assert float(score.compute()) == pytest.approx(1.0, abs=1e-9)
    assert all(value == pytest.approx(0.0, abs=1e-9) for value in score.divergences().values())


def test_kl_score_drops_for_a_different_distribution(moses):
    held_out = KLDivergenceScore(moses[:120])
    held_out.update(moses[120:])
    shifted = KLDivergenceScore(moses[:120])
    shifted.update(["C" * length for length in range(2, 60)])
    # 120 real molecules against 120 others score ~0.8: the estimate is biased down at small sizes.
    assert float(shifted.compute()) < 0.3 < 0.6 < float(held_out.compute()) < 1.0


def test_continuous_and_discrete_kl_on_known_cases():
    values = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    assert continuous_kl(values, values) == pytest.approx(0.0, abs=1e-12)
    assert continuous_kl(values, values + 10.0) > 5.0
    assert continuous_kl(np.full(4, 2.0), np.full(6, 2.0)) == 0.0
    # Shares of each whole sample in the reference's ten bins of width 0.1: the reference has half in the
    # first and half in the last bin; of the generated values half are in the first, half beyond the last.
    reference = np.array([0.0, 0.0, 1.0, 1.0])
    assert discrete_kl(reference, reference) == pytest.approx(0.0, abs=1e-12)
    p = np.array([0.5] + [0.0] * 8 + [0.5]) + 1e-10
    q = np.array([0.5] + [0.0] * 9) + 1e-10
    expected = float(np.sum(p * np.log(p / q)))
    assert expected > 10.0
    assert discrete_kl(reference, np.array([0.0, 0.0, 5.0, 5.0])) == pytest.approx(expected, rel=1e-9)
    # Entirely outside the reference's range: the largest divergence, not an undefined one.
    assert discrete_kl(reference, np.array([7.0, 8.0])) == pytest.approx(np.log(0.5 / 1e-10), rel=1e-6)


def test_max_internal_similarity_excludes_each_molecule_itself():
    smiles = ["CCO", "CCO", "c1ccccc1"]
    similarity = max_internal_similarity(morgan_fingerprints(smiles, 2, 4096))
    assert similarity.tolist()[:2] == [1.0, 1.0]  # a duplicate is another molecule
    assert similarity[2] < 0.2


def test_sa_score_matches_the_rdkit_contrib_reference_values():
    rows = (Path(RDConfig.RDContribDir) / "SA_Score" / "data" / "zim.100.txt").read_text().splitlines()[1:11]
    smiles = [row.split("\t")[0] for row in rows]
    expected = [float(row.split("\t")[2]) for row in rows]
    accessibility = SyntheticAccessibility()
    accessibility.update(smiles)
    assert accessibility.all_values().numpy() == pytest.approx(expected, abs=1e-3)
    assert float(accessibility.compute()) == pytest.approx(np.mean(expected), abs=1e-3)
    assert float(accessibility.share_above(3.0)) == pytest.approx(np.mean(np.array(expected) > 3.0))


def test_large_ring_share_counts_rings_of_more_than_seven_atoms():
    shares = LargeRingShare()
    shares.update(["C1CCCCCCC1", "C1CCCCCC1", "c1ccccc1", "CCO", None])
    assert shares.all_values().tolist() == [1.0, 0.0, 0.0, 0.0]
    assert float(shares.compute()) == 0.25


def test_structural_alert_share_on_hand_made_sets():
    pains = StructuralAlertShare("pains")
    # A 5-benzylidene rhodanine and a quinone are PAINS; benzene, ethanol and aspirin are not.
    pains.update(
        ["S=C1SC(=Cc2ccccc2)C(=O)N1", "O=C1C=CC(=O)C=C1", "c1ccccc1", "CCO", "CC(=O)Oc1ccccc1C(=O)O"]
    )
    assert float(pains.compute()) == pytest.approx(0.4)
    brenk = StructuralAlertShare("brenk")
    brenk.update(["CC(=O)Oc1ccccc1C(=O)O", "c1ccccc1"])  # aspirin's ester is a BRENK alert
    assert float(brenk.compute()) == 0.5


def test_structural_alert_share_agrees_with_matching_one_molecule_at_a_time(moses):
    smiles = [*moses, "S=C1SC(=Cc2ccccc2)C(=O)N1", "O=C1C=CC(=O)C=C1"]
    for name in ALERT_CATALOGS:
        catalog = alert_catalog(name)
        expected = [float(catalog.HasMatch(Chem.MolFromSmiles(text))) for text in smiles]
        assert sum(expected) > 0  # the comparison sees matches, not only misses
        share = StructuralAlertShare(name)
        with computing_threads(2):  # RDKit's threads split the batch
            share.update(smiles[:100])
            share.update([None, *smiles[100:]])
        assert share.all_values().tolist() == expected


def test_structural_alert_share_refuses_an_unparseable_smiles():
    with pytest.raises(ValueError, match="cannot parse SMILES 'C1CC'"):
        StructuralAlertShare("pains").update(["c1ccccc1", "C1CC"])


def test_property_metrics_of_an_empty_set_are_nan():
    metrics = molecule_property_metrics([None])
    assert all(np.isnan(value) for value in metrics.values())
    assert set(metrics) == {
        "sa_mean",
        "sa_above_4",
        "large_ring_share",
        "pains_share",
        "brenk_share",
        "nih_share",
    }


def test_states_are_tensors_reduced_by_concatenation(moses):
    metric = SyntheticAccessibility()
    metric.update(moses[:3])
    assert isinstance(metric.values[0], torch.Tensor) and metric._reductions["values"] is not None
