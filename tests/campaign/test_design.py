"""`genmbo design`: a tiny campaign per design space through the command line, every output checked."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from rdkit import Chem

from genmbo.campaign.inputs import resolve_dataset
from genmbo.cli import design_summary, main
from genmbo.config import ConstraintsConfig, load_config
from genmbo.data.desirability import Desirability
from genmbo.metrics.molecule_realism import molecule_property_metrics as property_metrics
from genmbo.models.prior import load_prior
from genmbo.models.surrogates.design import DESIGN_SURROGATE_FOLDER, fit_design_surrogate
from genmbo.resources import moses_subset_smiles
from genmbo.selection.constraints import (
    DesignFilter,
    alert_catalog,
    alert_matches,
    largest_ring_size,
    realism_bounds,
)
from genmbo.spaces import MoleculeSpace
from genmbo.tasks.molecular_oracles import sa_score

TINY = """
prior:
  autoencoder: {latent_dim: 4, hidden_dim: 16, embedding_dim: 8, max_steps: 30, batch_size: 32}
  diffusion: {hidden_dim: 16, num_blocks: 1, max_steps: 30, batch_size: 32}
surrogate: {members: 2, hidden_dims: [16], max_steps: 30, batch_size: 32}
search:
  method: guided_diffusion
  num_steps: 10
  policy: {percentiles: [50], trajectories: 20, trajectory_length: 5, updates: 10, checkpoint_every: null,
           hidden_dims: [16], batch_size: 16, steps: 3, spaces: [molecules, sequence, continuous]}
run: {n_candidates: 8}
"""

BASE_KEYS = {
    "n_candidates",
    "validity",
    "uniqueness",
    "novelty",
    "diversity",
    "best_offline_score",
    "timings",
}
STAGES = {
    "load",
    "fit_prior",
    "fit_surrogate",
    "fit_method",
    "portfolio",
    "polish",
    "rank",
    "search",
    "decode",
    "filter",
    "select",
    "metrics",
}


def write_config(folder, extra=""):
    path = folder / "tiny.yaml"
    path.write_text(TINY + extra)
    return str(path)


def molecule_table(rows=80):
    smiles = list(moses_subset_smiles()[:rows])
    return pd.DataFrame({"smiles": smiles, "pic50": np.linspace(4.0, 8.0, rows)})


def dna_table(rows=150, seed=0):
    rng = np.random.default_rng(seed)
    designs = ["".join(rng.choice(list("ACGT"), 8)) for _ in range(rows)]
    return pd.DataFrame(
        {"seq": designs, "y": [design.count("G") + 0.1 * design.count("C") for design in designs]}
    )


def vector_table(rows=120, seed=0):
    rng = np.random.default_rng(seed)
    points = rng.uniform(-2, 2, size=(rows, 3))
    table = pd.DataFrame(points, columns=["x0", "x1", "x2"])
    table["loss"] = (points**2).sum(1)
    return table


def run_design(tmp_path, capsys, table, options, extra_config=""):
    table.to_csv(tmp_path / "data.csv", index=False)
    out = tmp_path / "run"
    argv = [
        "design",
        "--data",
        str(tmp_path / "data.csv"),
        *options,
        "--config",
        write_config(tmp_path, extra_config),
    ]
    assert main([*argv, "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert f"library: {out / 'library.csv'}" in printed and f"report:  {out / 'report.html'}" in printed
    return out, json.loads((out / "metrics.json").read_text())


def check_common_outputs(out, metrics, nearest_column, surrogate_folder=""):
    assert BASE_KEYS <= set(metrics) and STAGES <= set(metrics["timings"])
    library = pd.read_csv(out / "library.csv")
    assert len(library) == metrics["n_candidates"] > 0
    assert list(library["rank"]) == list(range(1, len(library) + 1))
    expected = {
        "rank",
        "design",
        "predicted_score",
        "predicted_std",
        nearest_column,
        "nearest_offline_design",
    }
    assert expected <= set(library.columns)
    assert library["design"].is_unique and (library["predicted_std"] >= 0).all()
    pd.testing.assert_frame_equal(pd.read_parquet(out / "library.parquet"), library, check_dtype=False)
    assert metrics["validity"] == pytest.approx(metrics["pool"]["validity"])
    assert 0 <= metrics["validity"] <= 1 and 0 <= metrics["uniqueness"] <= 1 and 0 <= metrics["novelty"] <= 1
    assert metrics["library_novelty"] == 1.0  # candidates already in the data are dropped by default
    report = (out / "report.html").read_text()
    assert report.count("data:image/png") >= 2 and "http://" not in report and "https://" not in report
    for section in ("Metrics", "Scores: offline data and candidates", "Latent space", "Top candidates"):
        assert section in report
    assert json.loads((out / "cleaning.json").read_text())["rows_kept"] > 0
    surrogate = out / surrogate_folder
    assert (out / "prior" / "prior.json").is_file() and (surrogate / "surrogate.ckpt").is_file()
    assert (surrogate / "surrogate" / "logs" / "metrics.csv").is_file()
    assert any((out / "policy").rglob("*.ckpt"))  # the step-size policy's training left its checkpoints
    return library


def test_molecule_campaign_writes_library_sdf_and_report(tmp_path, capsys):
    table = molecule_table()
    options = ["--space", "molecules", "--design-col", "smiles", "--score-col", "pic50"]
    out, metrics = run_design(tmp_path, capsys, table, options)
    library = check_common_outputs(out, metrics, "nearest_offline_similarity")
    space = MoleculeSpace()
    assert [space.parse(smiles) for smiles in library["design"]] == list(library["design"])  # all valid
    offline = {Chem.CanonSmiles(smiles) for smiles in table["smiles"]}
    assert not offline & set(library["design"])
    assert (library["nearest_offline_similarity"].between(0, 1)).all()
    assert metrics["diversity"] == metrics["intdiv1"] and 0 < metrics["intdiv2"] <= 1
    assert metrics["best_offline_score"] == pytest.approx(8.0)
    assert "data:image/svg+xml" in (out / "report.html").read_text()  # the RDKit grid of top molecules
    records = [molecule for molecule in Chem.SDMolSupplier(str(out / "library.sdf"))]
    assert [molecule.GetProp("_Name") for molecule in records] == list(library["design"])
    assert records[0].GetProp("rank") == "1"
    assert not (out / "surrogate-design-features").exists()  # molecules have no design surrogate
    # Realism beside the offline data's: the 80 offline molecules are MOSES molecules, the top decile the
    # last 8 rows (highest pic50), measured from the rows themselves.
    realism = metrics["realism"]
    top = property_metrics(list(table["smiles"][-8:]))
    assert realism["offline_top_decile"] == pytest.approx(top)
    assert realism["offline"] == pytest.approx(property_metrics(list(table["smiles"])))
    assert realism["library"] == pytest.approx(property_metrics(list(library["design"])))
    assert "fcd_to_offline" not in realism and "fewer than the 1000" in realism["fcd_note"]
    # The realism filter: bounds from the offline molecules, and every library molecule within them.
    bounds = realism_bounds(list(table["smiles"]), 0.9, 0.01, True)
    assert realism["filter"]["allowed_alerts"] == bounds.pop("allowed_alerts")
    assert realism["filter"]["alert_shares"] == pytest.approx(bounds.pop("alert_shares"))
    assert realism["filter"]["cap_alert_shares"] is True
    assert {key: realism["filter"][key] for key in bounds} == pytest.approx(bounds)
    realism_filter = DesignFilter(MoleculeSpace(), ConstraintsConfig(), list(table["smiles"]))
    assert all(realism_filter.reason(design) is None for design in library["design"])  # alerts too
    # The alert quota: no catalog's alerts in a larger share of the library than of the offline molecules.
    for name, share in realism["filter"]["alert_shares"].items():
        carriers = sum(map(bool, alert_matches(alert_catalog(name), list(library["design"]))))
        assert carriers <= share * len(library)
    molecules = [Chem.MolFromSmiles(smiles) for smiles in library["design"]]
    assert max(sa_score(molecule) for molecule in molecules) <= realism["filter"]["sa_max"]
    assert max(largest_ring_size(molecule) for molecule in molecules) <= realism["filter"]["largest_ring_max"]
    assert "realism (library / offline / offline top 10%): SA" in design_summary(metrics)  # as printed
    assert "no PAINS alert, no BRENK or NIH alert that under 1% of the offline designs carry" in (
        design_summary(metrics)
    )
    assert "designs with an alert at most the offline designs' share (BRENK " in design_summary(metrics)
    assert f"kept SA <= {realism['filter']['sa_max']:.2f} (the offline 90% quantile)" in design_summary(
        metrics
    )
    assert "Realism: library against the offline data" in (out / "report.html").read_text()
    # The shipped VAE's latents come with its realism critic, which the flagship's guidance climbs.
    assert load_prior(out / "prior").critic is not None
    assert metrics["realism"]["guidance_weight"] == 1.0
    assert "log-probability, weight 1" in (out / "report.html").read_text()


def test_sequence_campaign_respects_alphabet_and_length(tmp_path, capsys):
    table = dna_table()
    out, metrics = run_design(
        tmp_path, capsys, table, ["--space", "sequence", "--design-col", "seq", "--score-col", "y"]
    )
    library = check_common_outputs(out, metrics, "nearest_offline_distance")
    assert all(len(design) == 8 and set(design) <= set("ACGT") for design in library["design"])
    assert not set(table["seq"]) & set(library["design"])
    # Hamming distance to the nearest offline sequence: at least 1 (new), at most the length.
    assert library["nearest_offline_distance"].between(1, 8).all()
    assert 0 < metrics["diversity"] <= 8
    assert "class='sequences'" in (out / "report.html").read_text()
    # The flagship's library is polished and valued by a surrogate of the designs themselves, trained
    # beside the latent one: the model that chose the designs fills their predictions and ranks them.
    dataset, _ = resolve_dataset(load_config(out / "config.yaml"))
    design_surrogate = fit_design_surrogate(
        dataset, load_config(out / "config.yaml").surrogate, out / DESIGN_SURROGATE_FOLDER
    )
    mean, std = design_surrogate.predict(list(library["design"]))
    np.testing.assert_allclose(library["predicted_score"], mean.numpy(), rtol=1e-5, atol=1e-6)
    acquisition = library["predicted_score"] - library["predicted_std"]
    assert library["acquisition"].to_numpy() == pytest.approx(acquisition.to_numpy(), abs=1e-5)
    assert library["acquisition"].iloc[0] == pytest.approx(library["acquisition"].max())
    # Its trust: the design surrogate's Spearman and calibration on the 30 rows it held out of 150.
    trust = metrics["surrogate_trust"]
    assert trust["model"] == "design" and trust["rows"] == 30
    assert trust == {**design_surrogate.surrogate.trust, "model": "design"}
    summary = design_summary(metrics)
    assert f"surrogate trust (design, 30 held-out designs): Spearman {trust['spearman']:.2f}" in summary
    assert trust["std_scale"] > 0  # the conformal widening (exact values: tests/metrics)
    assert f"mean ± {trust['std_scale']:.2g} x predicted_std" in summary
    assert f"on {metrics['threads']} threads" in summary and metrics["threads"] == 1  # OMP_NUM_THREADS=1
    assert "candidates asked for" not in summary  # a full library: no shortfall line
    short = {**metrics, "n_candidates": 5, "n_requested": 8}
    short["pool"] = {**metrics["pool"], "size": 32, "dropped": {"PAINS structural alert": 3, "too long": 20}}
    assert (
        "warning: 5 of the 8 candidates asked for; the filters dropped 23 of the pool of 32 (20 too long; 3 "
        "PAINS structural alert); a larger selection.pool_factor" in design_summary(short)
    )
    short["pool"] = {**metrics["pool"], "size": 32, "dropped": {}}
    assert "the filters dropped 0 of the pool of 32; a larger" in design_summary(short)
    # A full alert cap is named (with the carriers and the offline share); an empty or open one is not.
    caps = {
        "BRENK": {"offline_share": 0.162, "cap": 18, "carriers": 18, "full": True},
        "NIH": {"offline_share": 0.004, "cap": 0, "carriers": 0, "full": True},
    }
    short["pool"] = {**metrics["pool"], "size": 64, "rounds": 2, "dropped": {}, "alert_caps": caps}
    summary = design_summary(short)
    assert "pool of 64 (2 rounds of search)" in summary
    assert "as many alert carriers as the cap allows: BRENK (18, the offline share 16.2%); a" in summary
    report = (out / "report.html").read_text()
    assert "Surrogate trust" in report and "std widening for a 68% interval" in report


def test_vector_campaign_with_minimized_scores(tmp_path, capsys):
    table = vector_table()
    options = ["--space", "continuous", "--design-col", "x", "--score-col", "loss", "--minimize"]
    out, metrics = run_design(tmp_path, capsys, table, options)
    library = check_common_outputs(out, metrics, "nearest_offline_distance")
    assert metrics["best_offline_score"] == pytest.approx(table["loss"].min())
    coordinates = library[["x0", "x1", "x2"]].to_numpy()
    np.testing.assert_allclose(
        coordinates, np.array([[float(v) for v in d.split()] for d in library["design"]]), rtol=1e-6
    )
    # Scores are reported in the user's units: a minimized loss is positive here, as in the data.
    assert (library["predicted_score"] > -1).all()


def test_task_campaign_reports_normalized_oracle_scores(tmp_path, capsys):
    out = tmp_path / "run"
    argv = [
        "design",
        "--task",
        "ackley-4",
        "--config",
        write_config(tmp_path),
        "--out",
        str(out),
        "--no-progress",
    ]
    assert main(argv) == 0
    assert "oracle (ackley-4): normalized 100th" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"score_100th", "score_50th", "top10_mean", "task"} <= set(metrics)
    library = check_common_outputs(out, metrics, "nearest_offline_distance")
    assert metrics["score_100th"] == pytest.approx(library["normalized_score"].max())
    assert metrics["score_50th"] <= metrics["score_100th"]


def test_constraints_filter_the_pool_and_are_counted(tmp_path, capsys):
    table = molecule_table()
    options = ["--space", "molecules", "--design-col", "smiles", "--score-col", "pic50"]
    extra = "constraints: {properties: {MolWt: [null, 330]}, structural_alerts: [PAINS]}\n"
    out, metrics = run_design(tmp_path, capsys, table, options, extra)
    from rdkit.Chem import Descriptors

    library = pd.read_csv(out / "library.csv")
    assert all(Descriptors.MolWt(Chem.MolFromSmiles(smiles)) <= 330 for smiles in library["design"])
    dropped = metrics["pool"]["dropped"]
    assert dropped.get("MolWt out of range", 0) > 0  # MOSES molecules run to 350 Da: some must fall


def test_same_seed_gives_the_same_library(tmp_path, capsys):
    table = dna_table(rows=100, seed=1)
    options = ["--space", "sequence", "--design-col", "seq", "--score-col", "y"]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, _ = run_design(tmp_path / "a", capsys, table, options)
    second, _ = run_design(tmp_path / "b", capsys, table, options)
    pd.testing.assert_frame_equal(pd.read_csv(first / "library.csv"), pd.read_csv(second / "library.csv"))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("constraints: {structural_alerts: [PAINZ]}\n", "unknown structural alert catalog 'PAINZ'"),
        ("constraints: {properties: {MolWeight: [0, 500]}}\n", "unknown RDKit descriptor 'MolWeight'"),
        ("selection: {diversity_weight: 2}\n", "'selection.diversity_weight' must be <= 1.0, got 2"),
        ("stages: {portfolio: 1.5}\n", "'stages.portfolio' must be <= 1.0, got 1.5"),
        ("stages: {polish_rounds: -1}\n", "'stages.polish_rounds' must be >= 0, got -1"),
        ("stages: {polish: 4}\n", "unknown config key 'stages.polish'"),
    ],
)
def test_bad_constraints_stop_before_training(tmp_path, capsys, extra, message):
    molecule_table(20).to_csv(tmp_path / "data.csv", index=False)
    argv = ["design", "--data", str(tmp_path / "data.csv"), "--space", "molecules", "--design-col", "smiles"]
    argv += ["--score-col", "pic50", "--config", write_config(tmp_path, extra), "--out", str(tmp_path / "o")]
    argv += ["--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o" / "prior").exists()


def test_outputs_stay_under_out(tmp_path, capsys, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    dna_table().to_csv(work / "data.csv", index=False)
    (work / "tiny.yaml").write_text(TINY)
    argv = ["design", "--data", "data.csv", "--space", "sequence", "--design-col", "seq", "--score-col", "y"]
    assert main([*argv, "--config", "tiny.yaml", "--out", "run", "--no-progress"]) == 0
    assert sorted(path.name for path in work.iterdir()) == ["data.csv", "run", "tiny.yaml"]
    assert not list((work / "run").glob("**/*.tmp"))  # no temporary file left behind


def test_unlabeled_designs_train_the_prior_and_are_counted(tmp_path, capsys):
    table = dna_table(rows=60)
    unlabeled = dna_table(rows=200, seed=1)["seq"].tolist() + ["ACGTA", table["seq"][0]]
    (tmp_path / "catalogue.txt").write_text("\n".join(unlabeled) + "\n")
    options = ["--space", "sequence", "--design-col", "seq", "--score-col", "y"]
    out, metrics = run_design(
        tmp_path, capsys, table, [*options, "--unlabeled", str(tmp_path / "catalogue.txt")]
    )
    check_common_outputs(out, metrics, "nearest_offline_distance")
    counts = json.loads((out / "cleaning.json").read_text())["unlabeled"]
    distinct_new = len(set(unlabeled[:200]) - set(table["seq"]))
    assert counts["rows_read"] == 202 and counts["rows_kept"] == distinct_new
    assert counts["skipped"] and counts["rows_skipped"] == 1  # the labeled sequences have 8 letters
    assert metrics["offline_designs"] == len(table)  # the surrogate's rows: the labeled ones only


def test_unlabeled_designs_need_own_data(tmp_path, capsys):
    argv = [
        "design",
        "--task",
        "ackley-4",
        "--unlabeled",
        str(tmp_path / "u.txt"),
        "--out",
        str(tmp_path / "r"),
    ]
    assert main([*argv, "--no-progress"]) == 2
    assert "unlabeled designs go with your own data" in capsys.readouterr().err


def staircase_hypervolume(points, reference):
    """Hand-computed 2-D hypervolume of maximized `points` above `reference`: sweep by the first objective
    from the best down, adding each new step's rectangle."""
    area, top = 0.0, reference[1]
    for x, y in sorted((p for p in points if p[0] > reference[0] and p[1] > reference[1]), reverse=True):
        if y > top:
            area += (x - reference[0]) * (y - top)
            top = y
    return area


def offline_front(points):
    return [p for p in points if not any(q[0] >= p[0] and q[1] >= p[1] and q != p for q in points)]


def test_two_objective_campaign_reports_the_pareto_figures(tmp_path, capsys):
    table = vector_table()
    table["potency"] = -((table[["x0", "x1", "x2"]].to_numpy() - 1) ** 2).sum(1)
    table["toxicity"] = ((table[["x0", "x1", "x2"]].to_numpy() + 1) ** 2).sum(1)
    table.loc[5, "toxicity"] = np.nan  # a row missing an objective is skipped and counted
    options = ["--space", "continuous", "--design-col", "x", "--objective", "potency:max"]
    out, metrics = run_design(tmp_path, capsys, table, [*options, "--objective", "toxicity:min"])
    library = check_common_outputs(out, metrics, "nearest_offline_distance", "objectives/objective_0")
    cleaning = json.loads((out / "cleaning.json").read_text())
    assert cleaning["skipped"] == {"no value for objective 'toxicity'": 1} and cleaning["rows_kept"] == 119
    assert metrics["objectives"] == [
        {"column": "potency", "direction": "max", "weight": 0.5},
        {"column": "toxicity", "direction": "min", "weight": 0.5},
    ]
    # Maximized orientation: toxicity negated. The reference point: the offline front's nadir minus 10%
    # of its range, reported back in the user's orientation.
    measured = table.drop(index=5)
    offline = [(p, -t) for p, t in zip(measured["potency"], measured["toxicity"], strict=True)]
    front = offline_front(offline)
    nadir = [min(p[0] for p in front), min(p[1] for p in front)]
    ideal = [max(p[0] for p in front), max(p[1] for p in front)]
    reference = [n - 0.1 * (i - n) for n, i in zip(nadir, ideal, strict=True)]
    pareto = metrics["pareto"]
    assert pareto["reference_point"] == {
        "potency": pytest.approx(reference[0]),
        "toxicity": pytest.approx(-reference[1]),
    }
    assert pareto["offline_hypervolume"] == pytest.approx(staircase_hypervolume(offline, reference))
    predicted = list(zip(library["predicted_potency"], -library["predicted_toxicity"], strict=True))
    assert pareto["hypervolume"] == pytest.approx(staircase_hypervolume(predicted, reference), rel=1e-5)
    assert pareto["hypervolume_ratio"] == pytest.approx(pareto["hypervolume"] / pareto["offline_hypervolume"])
    undominated = [not any(q[0] >= p[0] and q[1] >= p[1] and q != p for q in offline) for p in predicted]
    assert pareto["undominated_share"] == pytest.approx(np.mean(undominated))
    assert pareto["objectives"]["toxicity"]["100th"] == pytest.approx(library["predicted_toxicity"].min())
    # Each design's front within the library, by its pessimistic predictions (kappa 1).
    pessimistic = list(
        zip(
            library["predicted_potency"] - library["predicted_potency_std"],
            -library["predicted_toxicity"] - library["predicted_toxicity_std"],
            strict=True,
        )
    )
    first = [p in offline_front(pessimistic) for p in pessimistic]
    assert list(library["pareto_front"] == 1) == first
    # Ranked by front first (blended with diversity): the first design is on the first front.
    assert library["pareto_front"].iloc[0] == 1
    printed = design_summary(metrics)
    assert "pareto (library predicted, offline measured): hypervolume" in printed
    assert "a 68% interval of predicted_toxicity is mean ±" in printed
    assert set(metrics["objective_trust"]) == {"potency", "toxicity"}
    report = (out / "report.html").read_text()
    assert "Pareto: offline data and library" in report and "Surrogate trust: toxicity" in report
    first = library.iloc[0]
    assert f"{first['predicted_toxicity']:.4g} ± {first['predicted_toxicity_std']:.2g}" in report
    assert (out / "objectives" / "objective_1" / "surrogate.ckpt").is_file()
    assert not (out / "surrogate.ckpt").exists()  # no surrogate of the scalarization itself


WINDOW = {"kind": "reverse_sigmoid", "low": -3.0, "high": 3.0, "k": 0.3}  # lower logp is better
DESIRABILITY_CONFIG = f"""
data:
  objectives:
    - {{column: potency, direction: max}}
    - {{column: logp, desirability: {json.dumps(WINDOW)}}}
"""


def test_a_desirability_and_a_constraint_shape_the_pareto_figures(tmp_path, capsys):
    table = vector_table()
    points = table[["x0", "x1", "x2"]].to_numpy()
    table["potency"] = -((points - 1) ** 2).sum(1)
    table["logp"] = points.sum(1)
    table["mass"] = (points[:, 0] + 2) * 100
    table.loc[7, "mass"] = np.nan
    options = ["--space", "continuous", "--design-col", "x", "--constraint", "mass::250"]
    out, metrics = run_design(tmp_path, capsys, table, options, DESIRABILITY_CONFIG)
    library = check_common_outputs(out, metrics, "nearest_offline_distance", "objectives/objective_0")
    cleaning = json.loads((out / "cleaning.json").read_text())
    assert cleaning["skipped"] == {"no value for constraint 'mass'": 1}
    assert metrics["constraints"] == [{"column": "mass", "low": None, "high": 250.0}]
    assert metrics["objectives"][1]["desirability"] == WINDOW
    window = Desirability(**WINDOW)
    # The library: logp predicted in its own units, its desirability beside it; feasibility by the
    # pessimistic interval of the predicted mass (kappa 1).
    predicted_mass, mass_std = library["predicted_mass"], library["predicted_mass_std"]
    assert list(library["feasible"]) == list(predicted_mass + mass_std <= 250.0)
    assert ((library["desirability_logp"] >= 0) & (library["desirability_logp"] <= 1)).all()
    # Offline: measured feasibility, the window applied to the measured logp.
    measured = table.drop(index=7)
    feasible = measured["mass"] <= 250.0
    offline = [
        (p, float(window(torch.tensor(v, dtype=torch.float64))))
        for p, v in zip(measured["potency"][feasible], measured["logp"][feasible], strict=True)
    ]
    front = offline_front(offline)
    nadir = [min(p[0] for p in front), min(p[1] for p in front)]
    ideal = [max(p[0] for p in front), max(p[1] for p in front)]
    reference = [n - 0.1 * (i - n) for n, i in zip(nadir, ideal, strict=True)]
    pareto = metrics["pareto"]
    assert pareto["reference_point"]["potency"] == pytest.approx(reference[0])
    assert pareto["reference_point"]["logp"] == pytest.approx(reference[1])
    assert pareto["offline_hypervolume"] == pytest.approx(staircase_hypervolume(offline, reference))
    kept = library[library["feasible"]]
    predicted = list(zip(kept["predicted_potency"], kept["desirability_logp"], strict=True))
    assert pareto["hypervolume"] == pytest.approx(staircase_hypervolume(predicted, reference), rel=1e-5)
    assert pareto["feasible_share"] == pytest.approx(library["feasible"].mean())
    assert pareto["offline_feasible_share"] == pytest.approx(feasible.mean())
    # Infeasible designs sit behind every front of feasible ones.
    if (~library["feasible"]).any() and library["feasible"].any():
        assert (
            library.loc[~library["feasible"], "pareto_front"].min()
            > library.loc[library["feasible"], "pareto_front"].max()
        )
    assert "of the library predicted feasible" in design_summary(metrics)
    assert set(metrics["objective_trust"]) == {"potency", "logp", "mass"}
    assert (out / "objectives" / "constraint_0" / "surrogate.ckpt").is_file()
    report = (out / "report.html").read_text()
    assert "library designs feasible (predicted)" in report


def test_one_objective_under_a_constraint(tmp_path, capsys):
    table = vector_table()
    table["potency"] = -table["loss"]
    table["mass"] = (table["x0"] + 2) * 100
    options = ["--space", "continuous", "--design-col", "x", "--objective", "potency:max"]
    out, metrics = run_design(tmp_path, capsys, table, [*options, "--constraint", "mass:100:300"])
    library = check_common_outputs(out, metrics, "nearest_offline_distance", "objectives/objective_0")
    low_end = library["predicted_mass"] - library["predicted_mass_std"]
    high_end = library["predicted_mass"] + library["predicted_mass_std"]
    assert list(library["feasible"]) == list((low_end >= 100) & (high_end <= 300))
    assert metrics["objectives"] == [{"column": "potency", "direction": "max", "weight": 1.0}]
    # The scalar score of a measured design is its scaled potency, less 1 + rho + violation when too heavy.
    dataset, _ = resolve_dataset(load_config(out / "config.yaml"))
    potency, mass = table["potency"].to_numpy(), table["mass"].to_numpy()
    utility = (potency - potency.min()) / (potency.max() - potency.min()) * 1.05
    violation = (np.clip(100 - mass, 0, None) + np.clip(mass - 300, 0, None)) / np.ptp(mass)
    expected = utility - np.where(violation > 0, 1.05 + violation, 0)
    np.testing.assert_allclose(dataset.scores, expected)


@pytest.mark.parametrize(
    "options, message",
    [
        (["--objective", "potency:up", "--objective", "toxicity:min"], "COLUMN:max or COLUMN:min"),
        (["--objective", "potency:max"], "two or more objectives"),
        (["--objective", "potency:max", "--objective", "potency:min"], "named twice"),
        (["--objective", "potency:max", "--objective", "toxicity:min", "--score-col", "loss"], "not both"),
        (["--objective", "potency:max", "--objective", "toxicity:min", "--minimize"], "COLUMN:min"),
        (["--objective", "potency:max", "--objective", "nope:min"], "no column 'nope'"),
        (["--objective", "potency:max", "--constraint", "toxicity:5"], "COLUMN:LOW:HIGH"),
        (["--score-col", "potency", "--constraint", "toxicity::5"], "constraints go with objectives"),
        (["--objective", "potency:max", "--constraint", "potency::5"], "named twice"),
        (["--objective", "potency:max", "--constraint", "toxicity:5:1"], "above high"),
        (["--objective", "potency:max", "--constraint", "toxicity:100:"], "no measured row meets"),
        (["--objective", "potency:max", "--constraint", "toxicity::inf"], "finite number"),
        (
            [
                "--set",
                "data.objectives=[{column: potency, direction: min, desirability: {kind: step, low: 0}}]",
            ],
            "a desirability is maximized",
        ),
        (
            ["--set", "data.objectives=[{column: potency, desirability: {kind: sigmoid, low: 2, high: 1}}]"],
            "sigmoid needs low < high",
        ),
    ],
)
def test_objective_mistakes_are_one_line_and_exit_2(tmp_path, capsys, options, message):
    table = vector_table()
    table["potency"], table["toxicity"] = table["loss"], -table["loss"]
    table.to_csv(tmp_path / "data.csv", index=False)
    argv = ["design", "--data", str(tmp_path / "data.csv"), "--space", "continuous", "--design-col", "x"]
    assert main([*argv, *options, "--out", str(tmp_path / "run"), "--no-progress"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("genmbo: error:") and message in error and "\n" not in error


def test_a_realism_weight_without_a_critic_stops_before_any_training(tmp_path, capsys):
    # Only the shipped molecular prior has a realism critic: a vector campaign asking for the term stops
    # with one line before its prior is trained.
    vector_table().to_csv(tmp_path / "data.csv", index=False)
    argv = ["design", "--data", str(tmp_path / "data.csv"), "--space", "continuous", "--design-col", "x"]
    argv += ["--score-col", "loss", "--set", "search.realism_weight=1", "--out", str(tmp_path / "run")]
    assert main([*argv, "--no-progress"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("genmbo: error:") and "realism critic" in error and "\n" not in error
    assert not (tmp_path / "run" / "prior").exists()
