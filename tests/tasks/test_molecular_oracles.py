"""Molecular oracles against reference values from the reference implementations.

REFERENCE was produced by running, in a separate virtual environment with RDKit 2026.09.1 (the release
this project is developed with), numpy 1.26.4 and scipy 1.11.4:
- GuacaMol objectives: the unmodified reference package `guacamol` 0.5.5 (BenevolentAI, from PyPI), the
  objectives of `guacamol.benchmark_suites.goal_directed_suite_v2()` scored with `objective.score(smiles)`
  (its unused `fcd` import was satisfied by an empty stub module);
- qed: `rdkit.Chem.QED.qed`;
- penalized_logp: MolDQN's `penalized_logp` (logP - SA - max(largest AtomRings ring - 6, 0)); genmbo then
  switched to JT-VAE's and GCPN's ring rule (largest cycle of networkx's `cycle_basis`, as in JT-VAE's
  `bo/gen_latent.py`), which changes one row here, the adamantyl amide: its value below is logP - SA - 2,
  the reference value minus the 8-atom cycle's penalty of 2;
- penalized_logp_normalized: GCPN's `reward_penalized_log_p` (ZINC250k-normalized, networkx cycle basis).
Over these molecules, 1,000 random MOSES training molecules and 20 edge cases (salts, isotopes, radicals,
cages, macrocycles), the largest absolute difference from this module was 1.1e-16.
"""

import math

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import Descriptors

from genmbo.errors import ConfigError
from genmbo.tasks import guacamol_scoring as gs
from genmbo.tasks import molecular_oracles as mo

# fmt: off
COLUMNS = (
    "qed", "penalized_logp", "penalized_logp_normalized", "osimertinib_mpo", "fexofenadine_mpo",
    "ranolazine_mpo", "perindopril_mpo", "amlodipine_mpo", "sitagliptin_mpo", "zaleplon_mpo",
    "celecoxib_rediscovery",
)

REFERENCE = {
    # osimertinib
    "COc1cc(N(C)CCN(C)C)c(NC(=O)C=C)cc1Nc2nccc(n2)c3cn(C)c4ccccc34": (
        0.3105348061023151, 1.585133676682081, 1.754404736962609, 0.1333417190026552,
        0.52580354049951, 0.27740491436048853, 0.0047434736338902925, 0.1506698455211503,
        1.0044201997300575e-15, 2.7304541022596777e-13, 0.1513157894736842,
    ),
    # fexofenadine
    "CC(C)(C(=O)O)c1ccc(cc1)C(O)CCCN2CCC(CC2)C(O)(c3ccccc3)c4ccccc4": (
        0.3413059210334569, 2.4899797646807302, 2.337086283971118, 0.0374922347060196,
        0.5973402619117621, 0.5061103535641078, 0.13172196983809217, 0.13991712539079415,
        6.024752343758447e-28, 3.823962297369714e-22, 0.16556291390728478,
    ),
    # ranolazine
    "COc1ccccc1OCC(O)CN2CCN(CC(=O)Nc3c(C)cccc3C)CC2": (
        0.6398550561014078, -0.19355663466161666, 0.7269240112000585, 0.2855373599699833,
        0.4738816617991979, 0.049237359143290346, 0.3572948005052482, 0.4520835786044386,
        6.484188576682701e-06, 3.7526852219975357e-10, 0.14388489208633093,
    ),
    # perindopril
    "O=C(OCC)C(NC(C(=O)N1C(C(=O)O)CC2CCCCC12)C)CCC": (
        0.6358209968803861, -1.7547533226059109, -0.9614383545344176, 0.5311264877538623,
        0.5220665621271177, 0.025933381087725773, 0.01831563888873418, 0.13688948653957853,
        2.6945523523910872e-05, 5.322198036778548e-08, 0.028985507246376812,
    ),
    # amlodipine
    r"Clc1ccccc1C2C(=C(/N/C(=C2/C(=O)OCC)COCCN)C)\C(=O)OC": (
        0.5023259105130482, -0.6673171090885157, 0.17951517109752374, 0.5718847773252035,
        0.5486919169686516, 0.03979361334539561, 0.13688948653957853, 0.3678794411714423,
        0.0007939687230411518, 0.0015278821959474008, 0.1297709923664122,
    ),
    # sitagliptin
    "Fc1cc(c(F)cc1F)CC(N)CC(=O)N3Cc2nnc(n2CC3)C(F)(F)F": (
        0.6216377742511342, -1.234706566999026, -0.375665157411889, 0.30818989015073966,
        0.40095266722627926, 0.0012167157495011102, 0.2701716134791496, 0.31736323741169464,
        3.726653172078671e-06, 0.13343833033538244, 0.16666666666666666,
    ),
    # zaleplon
    "O=C(C)N(CC)C1=CC=CC(C2=CC=NC3=C(C=NN23)C#N)=C1": (
        0.7452640844090571, 0.05783975365338545, 0.8613174022570779, 0.2405180559096592,
        0.36148813694159887, 0.04627099331759007, 0.09196986029286057, 0.3930286817974576,
        0.09691697385164867, 0.4664987211828483, 0.19298245614035087,
    ),
    # celecoxib
    "CC1=CC=C(C=C1)C1=CC(=NN1C1=CC=C(C=C1)S(N)(=O)=O)C(F)(F)F": (
        0.7541053298167572, 1.3695628832340656, 1.99624537812542, 0.18175080980044575,
        0.40646089154299664, 0.06635108129725903, 0.06263195536581383, 0.36023741111440966,
        0.00043553654210222085, 0.22648467474501283, 1.0,
    ),
    # aspirin
    "CC(=O)Oc1ccccc1C(=O)O": (
        0.5501217966938848, -0.26993975000882586, 1.1367875481574274, 0.1295128843026565,
        0.1485534698230763, 0.007332892918704846, 0.1187325790890906, 0.00853971066486895,
        0.00019548861776578068, 1.6660418569341117e-07, 0.11578947368421053,
    ),
    # caffeine
    "Cn1cnc2c1c(=O)n(C)c(=O)n2C": (
        0.5384628262372215, -3.32728245679401, -1.35556181810521, 0.10402524514086854,
        0.09472979788502557, 0.00010870569651581496, 0.24253562503633297, 0.11407457211631543,
        7.949916135922321e-16, 1.9070528648224877e-06, 0.10204081632653061,
    ),
    # (S)-ibuprofen
    "CC(C)Cc1ccc(cc1)[C@@H](C)C(=O)O": (
        0.8215995486924976, 0.8814445795074954, 1.6321135868567602, 0.0027889950938786213,
        0.0054393675358399935, 0.02884966661075599, 0.12807918158683343, 0.007023726888015237,
        1.1399694590180367e-06, 0.018391259863930535, 0.12121212121212122,
    ),
    # imatinib
    "Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1": (
        0.38941616262964607, 2.258660234867488, 2.5219905707742813, 0.13452372252259337,
        0.5891291293609743, 0.302967325961852, 0.004909694390790422, 0.006376686970163737,
        1.2673578845259856e-15, 8.389736572064793e-12, 0.20134228187919462,
    ),
    # 16-membered macrolactone: ring penalty 10
    "O=C1CCCCCCCCCCCCCCO1": (
        0.577687148559785, -7.736761652759911, -32.447110291477614, 0.00013070742013642343,
        0.000465137606212692, 0.06367997939737904, 0.004873352703957407, 0.002316765427582212,
        1.354165291868797e-17, 7.35812500767972e-05, 0.01680672268907563,
    ),
    # benzene
    "c1ccccc1": (
        0.4426283718993647, 0.6866000000000001, 2.095171701744179, 2.2291058176260914e-06,
        4.735375826223763e-07, 0.000675786712856631, 0.0, 0.004755571265457336,
        3.884528790079904e-18, 2.173001779771922e-12, 0.07228915662650602,
    ),
    # adamantyl amide: SSSR and networkx cycle basis disagree on the largest ring
    "CC12CC3CC(C1)CC(C3)C2NC(=O)c1ccc(F)c(F)c1": (
        0.8816317991913745, -2.6355323834411006, -7.6005601531354205, 0.00042838194360533913,
        0.0011400568333726669, 0.0487809875841103, 0.13116263835242645, 0.005883130417877137,
        2.273831097740782e-11, 0.1069253292656391, 0.10833333333333334,
    ),
    # choline chloride: charged, two fragments
    "C[N+](C)(C)CCO.[Cl-]": (
        0.39759253054033583, -6.708462176468762, -4.26537442750101, 0.0001688560058261395,
        5.973845050427337e-05, 7.754935967168054e-08, 0.004924460422298466, 2.908796977819814e-05,
        7.878410610160551e-49, 5.850186674756777e-08, 0.011363636363636364,
    ),
    # heavily fluorinated sitagliptin analogue
    "FC(F)(F)c1cc(F)c(F)cc1CC(=O)N1CCn2c(nnc2C(F)(F)F)C1": (
        0.709921076790199, 0.3621493784142613, 0.9560314237435275, 0.018265274066931257,
        0.039421851240761904, 0.00012080525976158478, 0.2407717061715384, 0.29277002188455997,
        9.98450248906765e-07, 0.010860403960159519, 0.15873015873015872,
    ),
}
# fmt: on

ORACLES = {**mo.MOLECULAR_ORACLES, "penalized_logp_normalized": mo.penalized_logp_normalized}


def test_registry_has_the_published_objectives():
    assert set(mo.MOLECULAR_ORACLES) == set(COLUMNS) - {"penalized_logp_normalized"}


@pytest.mark.parametrize("name", COLUMNS)
def test_oracle_matches_reference_implementation(name):
    column = COLUMNS.index(name)
    for smiles, expected in REFERENCE.items():
        value = ORACLES[name](Chem.MolFromSmiles(smiles))
        assert isinstance(value, float)
        assert value == pytest.approx(expected[column], abs=1e-6), smiles


@pytest.mark.parametrize("name", sorted(mo.MOLECULAR_ORACLES))
def test_score_smiles_gives_nan_for_invalid_smiles(name):
    smiles = ["c1ccccc1", "not a molecule", "", "C1CC", "CC(C)(C)(C)(C)C", "CC(=O)Oc1ccccc1C(=O)O"]
    scores = mo.score_smiles(name, smiles)
    assert scores.dtype == np.float64 and scores.shape == (6,)
    assert np.isnan(scores[1:5]).all()
    column = COLUMNS.index(name)
    assert scores[0] == pytest.approx(REFERENCE["c1ccccc1"][column], abs=1e-6)
    assert scores[5] == pytest.approx(REFERENCE["CC(=O)Oc1ccccc1C(=O)O"][column], abs=1e-6)


def test_unknown_oracle_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown molecular oracle"):
        mo.score_smiles("logp", ["C"])


SIMILARITY_TARGETS = [
    (mo.CELECOXIB, "ECFP4"),
    (mo.OSIMERTINIB, "FCFP4"),
    (mo.OSIMERTINIB, "ECFP6"),
    (mo.FEXOFENADINE, "AP"),
    (mo.RANOLAZINE, "AP"),
    (mo.PERINDOPRIL, "ECFP4"),
    (mo.AMLODIPINE, "ECFP4"),
    (mo.SITAGLIPTIN, "ECFP4"),
    (mo.ZALEPLON, "ECFP4"),
]


@pytest.mark.parametrize(("target", "fp_type"), SIMILARITY_TARGETS)
def test_similarity_targets_score_one_on_themselves(target, fp_type):
    # Also from a differently written SMILES: fingerprints depend on the graph, not the spelling.
    for smiles in (target, Chem.MolToSmiles(Chem.MolFromSmiles(target))):
        assert gs.TanimotoScore(target, fp_type)(Chem.MolFromSmiles(smiles)) == 1.0


def test_celecoxib_rediscovers_itself():
    scores = mo.score_smiles("celecoxib_rediscovery", ["Cc1ccc(-c2cc(C(F)(F)F)nn2-c2ccc(S(N)(=O)=O)cc2)cc1"])
    assert scores[0] == 1.0


@pytest.mark.parametrize(("smiles", "formula"), [(mo.SITAGLIPTIN, "C16H15F6N5O"), (mo.ZALEPLON, "C17H15N5O")])
def test_formula_score_is_one_for_the_exact_formula(smiles, formula):
    assert gs.formula_score(formula)(Chem.MolFromSmiles(smiles)) == pytest.approx(1.0, abs=1e-12)


def test_modifiers_follow_their_definitions():
    assert gs.min_gaussian(1.0, 1.0)(0.5) == 1.0
    assert gs.min_gaussian(1.0, 1.0)(2.0) == pytest.approx(math.exp(-0.5))
    assert gs.max_gaussian(100.0, 10.0)(120.0) == 1.0
    assert gs.max_gaussian(100.0, 10.0)(80.0) == pytest.approx(math.exp(-2.0))
    assert gs.clipped(0.8)(0.4) == pytest.approx(0.5)
    assert gs.clipped(0.8)(0.9) == 1.0
    assert gs.clipped(0.8)(-0.1) == 0.0


def test_penalized_logp_from_its_three_terms():
    benzene = Chem.MolFromSmiles("c1ccccc1")
    # Crippen: six aromatic CH carbons (type C18, 0.1581) with their hydrogens (type H1, 0.1230).
    assert Descriptors.MolLogP(benzene) == pytest.approx(6 * (0.1581 + 0.1230))
    assert mo.sa_score(benzene) == 1.0  # the SA score's lower bound
    assert mo.largest_ring_size(benzene) == 6  # no penalty up to six-membered rings
    assert mo.penalized_logp(benzene) == pytest.approx(1.6866 - 1.0 - 0, abs=1e-9)

    lactone = Chem.MolFromSmiles("O=C1CCCCCCCCCCCCCCO1")
    assert mo.largest_ring_size(lactone) == 16
    expected = Descriptors.MolLogP(lactone) - mo.sa_score(lactone) - (16 - 6)
    assert mo.penalized_logp(lactone) == pytest.approx(expected, abs=1e-12)

    hexane = Chem.MolFromSmiles("CCCCCC")
    assert mo.largest_ring_size(hexane) == 0
    assert mo.penalized_logp(hexane) == pytest.approx(Descriptors.MolLogP(hexane) - mo.sa_score(hexane))


def test_ring_penalty_uses_the_cycle_basis_like_jtvae_and_gcpn():
    # Adamantane's SSSR rings are all six-membered, but the networkx cycle basis JT-VAE and GCPN use
    # contains an 8-atom cycle, so the penalty is 8 - 6 = 2 (MolDQN's SSSR rule would give none).
    adamantyl = Chem.MolFromSmiles("CC12CC3CC(C1)CC(C3)C2NC(=O)c1ccc(F)c(F)c1")
    assert max(len(ring) for ring in adamantyl.GetRingInfo().AtomRings()) == 6
    assert mo.largest_ring_size(adamantyl) == 8
    assert mo.penalized_logp(adamantyl) == pytest.approx(
        Descriptors.MolLogP(adamantyl) - mo.sa_score(adamantyl) - 2, abs=1e-12
    )
