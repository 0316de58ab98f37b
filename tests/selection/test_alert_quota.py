"""The alert quota: a library carries each alert catalog no more often than the offline designs do."""

import pytest

from genmbo.config import ConstraintsConfig
from genmbo.selection.alert_quota import AlertQuota
from genmbo.selection.constraints import DesignFilter
from genmbo.spaces import MoleculeSpace, SequenceSpace

ALDEHYDE = "CCCC=O"  # BRENK and NIH: aldehyde
CHAIN = "CCCCCCCCc1ccccc1"  # BRENK: Aliphatic_long_chain
ANILINE = "Nc1ccccc1"  # BRENK: aniline
CLEAN = ["c1ccccc1O", "CC(=O)Nc1ccccc1", "CCOC(C)=O", "CCO"]  # no BRENK or NIH alert


def test_carriers_and_limits():
    quota = AlertQuota({"BRENK": 0.25, "NIH": 0.1}, count=8)
    carriers = quota.carriers([ALDEHYDE, CHAIN, *CLEAN])
    assert carriers["BRENK"].tolist() == [True, True, False, False, False, False]
    assert carriers["NIH"].tolist() == [True, False, False, False, False, False]
    assert quota.limit("BRENK", 8) == 2 and quota.limit("BRENK", 7) == 1 and quota.limit("NIH", 9) == 0
    assert quota.limit("BRENK", 4) == 1  # exactly a quarter: no rounding down below it


def test_designs_fit_until_the_cap_of_the_planned_library_is_taken():
    quota = AlertQuota({"BRENK": 0.5}, count=4)  # at most 2 carriers in 4 designs
    for design in (CHAIN, ANILINE):
        assert quota.fits(design)
        quota.take(design)
    assert not quota.fits(ALDEHYDE)  # a third carrier does not fit
    assert quota.fits(CLEAN[0])  # designs without an alert always fit
    assert quota.taken == {"BRENK": 2}
    # The selection's caps count what the portfolio took: 2 of a library of 6 (floor(0.5 * 6) = 3).
    (brenk,) = quota.quotas([ALDEHYDE, CLEAN[1]], size=6)
    assert brenk.members.tolist() == [True, False] and brenk.limit == 1


def test_trim_drops_the_last_carriers_until_the_share_holds_for_the_smaller_library():
    quota = AlertQuota({"BRENK": 0.25}, count=4)
    # 2 carriers in 4 designs is over floor(0.25 * 4) = 1; dropping the last (ANILINE) leaves 1 in 3, over
    # floor(0.75) = 0; dropping CHAIN leaves the two clean ones.
    assert quota.trim([CHAIN, CLEAN[0], ANILINE, CLEAN[1]]) == [CLEAN[0], CLEAN[1]]
    assert quota.trim([CHAIN, *CLEAN]) == [CHAIN, *CLEAN]  # 1 in 5: within floor(1.25)
    assert AlertQuota({}, count=4).trim([CHAIN, ANILINE]) == [CHAIN, ANILINE]  # no cap


def test_the_cap_comes_from_the_offline_designs_and_the_config():
    offline = [CHAIN, "CCCl"] + CLEAN * 2 + ["CCN", "CC(C)O"]  # BRENK 2 of 12, NIH 1 (the chloride)
    on = AlertQuota.of(DesignFilter(MoleculeSpace(), ConstraintsConfig(realism_quantile=1.0), offline), 24)
    assert on.shares == pytest.approx({"BRENK": 2 / 12, "NIH": 1 / 12})
    off = DesignFilter(
        MoleculeSpace(), ConstraintsConfig(realism_quantile=1.0, cap_alert_shares=False), offline
    )
    assert AlertQuota.of(off, 24).shares == {}
    assert off.realism["alert_shares"] == pytest.approx(on.shares)  # measured either way, for the report
    no_realism = DesignFilter(MoleculeSpace(), ConstraintsConfig(realism_quantile=None), offline)
    assert AlertQuota.of(no_realism, 24).shares == {}
    sequences = DesignFilter(SequenceSpace("ACGT", 4), ConstraintsConfig(), ["ACGT"])
    assert AlertQuota.of(sequences, 24).shares == {}


def test_usage_says_whether_each_cap_is_full():
    quota = AlertQuota({"BRENK": 0.25, "NIH": 0.5}, count=4)
    usage = quota.usage([CHAIN, *CLEAN])  # 1 BRENK carrier of 5: the cap floor(1.25) = 1 is full
    assert usage["BRENK"] == {"offline_share": 0.25, "cap": 1, "carriers": 1, "full": True}
    assert usage["NIH"] == {"offline_share": 0.5, "cap": 2, "carriers": 0, "full": False}


def test_admissible_counts_what_a_library_could_take():
    quota = AlertQuota({"BRENK": 0.25, "NIH": 0.5}, count=8)  # caps: 2 BRENK carriers, 4 NIH ones
    assert quota.admissible([CHAIN, ANILINE, ALDEHYDE, *CLEAN], 8) == 6  # the third BRENK carrier no
    quota.take(CHAIN)
    assert quota.admissible([ANILINE, ALDEHYDE, *CLEAN], 8) == 5  # one BRENK place left
    assert AlertQuota({}, count=8).admissible([CHAIN, ANILINE, ALDEHYDE], 8) == 3


def test_the_filter_and_the_quota_match_each_candidate_once(monkeypatch):
    offline = [*CLEAN * 25, CHAIN]  # a BRENK carrier in 1 of 101: its alert rare, the cap at 1%
    constraints = DesignFilter(
        MoleculeSpace(), ConstraintsConfig(realism_quantile=1.0, rare_alert_share=0.02), offline
    )
    quota = AlertQuota.of(constraints, count=100)
    assert quota.alerts is constraints.rare_alerts
    assert constraints.reason(CHAIN) == "a BRENK alert rare in the offline designs"
    # The quota reads the filter's match (GetMatches on its molecule): nothing is matched again.
    monkeypatch.setattr(
        "genmbo.selection.constraints.alert_matches", lambda *args: pytest.fail("matched twice")
    )
    assert quota.carried([CHAIN]) == [frozenset({"BRENK"})]


def test_batched_and_single_matches_agree():
    from rdkit import Chem

    from genmbo.selection.constraints import RareAlerts

    designs = [ALDEHYDE, CHAIN, ANILINE, *CLEAN]
    batched = RareAlerts().of(designs)
    single = RareAlerts()
    assert [single.of_molecule(design, Chem.MolFromSmiles(design)) for design in designs] == batched
    assert batched[0]["NIH"] and batched[1]["BRENK"] and not any(batched[3].values())
    with pytest.raises(ValueError, match="not PAINS"):
        AlertQuota({"PAINS": 0.1}, count=4)
