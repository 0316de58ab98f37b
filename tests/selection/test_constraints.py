"""Design constraints: RDKit structural alerts and descriptor ranges, with every name checked up front."""

import pytest
from rdkit import Chem

from genmbo.config import ConstraintsConfig
from genmbo.errors import ConfigError
from genmbo.resources import moses_subset_smiles
from genmbo.selection import constraints
from genmbo.selection.constraints import (
    DesignFilter,
    alert_catalog,
    alert_matches,
    cached_alert_matches,
    largest_ring_size,
    realism_bounds,
)
from genmbo.spaces import MoleculeSpace, SequenceSpace


def molecule_filter(**options):
    return DesignFilter(MoleculeSpace(), ConstraintsConfig(**options))


def test_pains_alerts_and_property_ranges():
    design_filter = molecule_filter(
        structural_alerts=["PAINS"], properties={"MolWt": [None, 300], "qed": [0.4, None]}
    )
    assert design_filter.reason("O=C1NC(=S)SC1=Cc1ccccc1") == "PAINS structural alert"  # an ene-rhodanine
    assert design_filter.reason("Oc1ccccc1O") == "PAINS structural alert"  # a catechol
    assert design_filter.reason("CC(C)Cc1ccc(cc1)C(C)C(=O)O") is None  # ibuprofen: 206 Da, QED 0.82
    assert design_filter.reason("C" * 26) == "MolWt out of range"
    assert design_filter.reason("C") == "qed out of range"  # methane: QED 0.36


def test_realism_properties_bound_the_largest_ring_and_the_sa_score():
    design_filter = molecule_filter(properties={"LargestRingSize": [None, 7], "SAScore": [None, 3.5]})
    assert largest_ring_size(Chem.MolFromSmiles("C1CCCCCCCC1")) == 9  # cyclononane
    assert largest_ring_size(Chem.MolFromSmiles("c1ccc2ccccc2c1")) == 6  # naphthalene: two 6-rings
    assert largest_ring_size(Chem.MolFromSmiles("CCO")) == 0
    assert design_filter.reason("C1CCCCCCCC1") == "LargestRingSize out of range"
    assert design_filter.reason("CC12CC3CC(C1)C(C)(C3)C2C#N") == "SAScore out of range"  # SA 5.79
    assert design_filter.reason("c1ccccc1O") is None and design_filter.reason("CCO") is None  # SA 1.18, 1.98


def test_realism_bounds_come_from_the_offline_molecules():
    offline = ["c1ccccc1O", "CCO", "C1CC2CCC1CC2", "not a molecule"]  # SA 1.18, 1.98, 2.78; rings 6, 0, 6
    bounds = realism_bounds(offline, 1.0, 0.01, True)
    assert bounds["sa_max"] == pytest.approx(2.784, abs=1e-3) and bounds["largest_ring_max"] == 6
    assert bounds["sample"] == 3  # the unparsable design is skipped
    assert realism_bounds(offline, 0.5, 0.01, True)["sa_max"] == pytest.approx(1.98, abs=1e-3)  # the median
    design_filter = DesignFilter(MoleculeSpace(), ConstraintsConfig(realism_quantile=1.0), offline)
    assert design_filter.realism == bounds and design_filter.active
    assert design_filter.reason("C1CCCCCCC1") == "a ring larger than the offline designs'"  # 8 atoms
    assert (
        design_filter.reason("CC12CC3CC(C1)C(C)(C3)C2C#N")
        == "harder to make than the offline designs (SA score)"
    )
    assert design_filter.reason("c1ccc2ccccc2c1") is None  # naphthalene: SA 1.0, rings of 6
    # A PAINS match is rejected too: catechol is easy to make (SA 1.5) and has one 6-ring.
    assert bounds["alerts"] == "PAINS"
    assert design_filter.reason("Oc1ccccc1O") == "PAINS structural alert"
    # BRENK and NIH alerts that the offline molecules never carry are rejected: an aldehyde (SA 1.3).
    assert bounds["allowed_alerts"] == {"BRENK": [], "NIH": []}
    assert design_filter.reason("O=Cc1ccccc1") == "a BRENK alert rare in the offline designs"
    # Off, without offline designs, or on another space: no realism bounds.
    assert DesignFilter(MoleculeSpace(), ConstraintsConfig(realism_quantile=None), offline).realism is None
    assert DesignFilter(MoleculeSpace(), ConstraintsConfig()).realism is None
    sequences = DesignFilter(SequenceSpace("ACGT", length=4), ConstraintsConfig(), ["ACGT"])
    assert sequences.realism is None and not sequences.active


def test_alerts_common_in_the_offline_molecules_stay_allowed():
    # Half of these carry an aldehyde (BRENK and NIH "aldehyde"), two in 202 an isolated alkene (BRENK).
    offline = ["O=Cc1ccccc1", "CCc1ccccc1"] * 100 + ["C=CCc1ccccc1", "C=CCc1ccccc1C=O"]
    bounds = realism_bounds(offline, 1.0, 0.01, True)
    assert bounds["rare_alert_share"] == 0.01
    assert bounds["allowed_alerts"] == {"BRENK": ["aldehyde"], "NIH": ["aldehyde"]}
    design_filter = DesignFilter(MoleculeSpace(), ConstraintsConfig(realism_quantile=1.0), offline)
    assert design_filter.reason("O=Cc1ccccc1") is None  # an aldehyde, as half the data has
    # Rare in the data even though two offline molecules carry it.
    assert design_filter.reason("C=CCc1ccccc1") == "a BRENK alert rare in the offline designs"
    # One allowed alert does not excuse a rare one: the aldehyde of the data beside the rare alkene.
    assert design_filter.reason("C=CCc1ccccc1C=O") == "a BRENK alert rare in the offline designs"
    # At 0.5% the alkene is common enough; off, every BRENK and NIH alert passes.
    common = realism_bounds(offline, 1.0, 0.004, True)["allowed_alerts"]["BRENK"]
    assert common == ["aldehyde", "isolated_alkene"]
    off = DesignFilter(
        MoleculeSpace(), ConstraintsConfig(realism_quantile=1.0, rare_alert_share=None), offline
    )
    assert "allowed_alerts" not in off.realism and off.reason("C=CCc1ccccc1") is None


def test_an_nih_alert_rare_in_the_offline_molecules_is_rejected():
    # An acyl pyrazole is an NIH alert and no BRENK one; five in 1,000 offline molecules carry it.
    acyl_pyrazole = "O=C(c1ccccc1)n1cccn1"
    assert alert_matches(alert_catalog("NIH"), [acyl_pyrazole]) == [{"acyl_pyrazole"}]
    assert alert_matches(alert_catalog("BRENK"), [acyl_pyrazole]) == [set()]
    offline = [acyl_pyrazole] * 5 + ["CCc1ccccc1"] * 995
    design_filter = DesignFilter(MoleculeSpace(), ConstraintsConfig(realism_quantile=1.0), offline)
    assert design_filter.realism["allowed_alerts"]["NIH"] == []
    assert design_filter.reason(acyl_pyrazole) == "a NIH alert rare in the offline designs"


def test_alert_descriptions_name_one_alert_each():
    # The rare-alert rule allows alerts by description: two alerts of one description would let a rare
    # one through on a common one's name.
    for name in ("BRENK", "NIH", "PAINS"):
        catalog = alert_catalog(name)
        descriptions = [
            catalog.GetEntryWithIdx(index).GetDescription() for index in range(catalog.GetNumEntries())
        ]
        assert len(set(descriptions)) == len(descriptions)


def test_no_constraints_pass_everything():
    design_filter = molecule_filter()
    assert not design_filter.active and design_filter.reason("not even SMILES") is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"structural_alerts": ["PAINZ"]}, "unknown structural alert catalog 'PAINZ'; did you mean 'PAINS'?"),
        ({"properties": {"molwt": [0, 1]}}, "unknown RDKit descriptor 'molwt'"),
        ({"properties": {"MolWt": [500, 100]}}, "low 500.0 is above high 100.0"),
        ({"properties": {"MolWt": [1]}}, "must be [low, high]"),
    ],
)
def test_bad_names_and_ranges_are_config_errors(options, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("?", r"\?")):
        molecule_filter(**options)


def test_molecule_constraints_on_sequences_are_refused():
    with pytest.raises(ConfigError, match="apply to molecules only"):
        DesignFilter(SequenceSpace("ACGT", length=4), ConstraintsConfig(structural_alerts=["PAINS"]))


def test_offline_alert_matches_are_cached_by_content(tmp_path, monkeypatch):
    monkeypatch.setenv("GENMBO_CACHE_DIR", str(tmp_path / "cache"))
    # MOSES molecules and two with several BRENK alerts: a nitro aldehyde and a Michael acceptor ester.
    smiles = [*moses_subset_smiles()[:60], "O=Cc1ccc([N+](=O)[O-])cc1", "C=CC(=O)OCCCCCCCCCC"]
    expected = alert_matches(alert_catalog("BRENK"), smiles)
    assert max(map(len, expected)) >= 2 and any(expected[:60]) and not all(expected[:60])
    assert cached_alert_matches(alert_catalog("BRENK"), smiles) == expected  # matched, then filed

    def unexpected(*args):
        raise AssertionError("matched again instead of read from the cache")

    monkeypatch.setattr(constraints, "alert_matches", unexpected)
    assert cached_alert_matches(alert_catalog("BRENK"), smiles) == expected  # read back
    with pytest.raises(AssertionError, match="matched again"):
        cached_alert_matches(alert_catalog("BRENK"), smiles[1:])  # other molecules miss
    with pytest.raises(AssertionError, match="matched again"):
        cached_alert_matches(alert_catalog("NIH"), smiles)  # so does another catalog
