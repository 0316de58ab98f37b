"""`genmbo benchmark`: a quick suite (two tasks, five methods, two seeds, tiny models) end to end."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from genmbo.benchmark.suite import STANDARD_METHODS, MethodSpec, parse_method, run_config, summary_table
from genmbo.cli import main
from genmbo.config import GenmboConfig
from genmbo.errors import ConfigError
from genmbo.models.surrogates.ensemble import load_surrogate
from genmbo.search.base import Candidates, SearchMethod
from genmbo.search.registry import SEARCH_METHODS

TINY = """
prior:
  autoencoder: {latent_dim: 4, hidden_dim: 16, embedding_dim: 8, max_steps: 300, batch_size: 32}
  diffusion: {hidden_dim: 16, num_blocks: 1, max_steps: 30, batch_size: 32}
surrogate: {members: 2, hidden_dims: [16], max_steps: 30, batch_size: 32}
"""
TINY_PGS = {
    "percentiles": [50],
    "trajectories": 20,
    "trajectory_length": 5,
    "updates": 5,
    "checkpoint_every": None,
    "hidden_dims": [16],
    "batch_size": 16,
}


def test_parse_method_specs():
    assert parse_method("pgs") == MethodSpec("pgs", "pgs")
    assert parse_method("coms") == MethodSpec("coms", "gradient_ascent", {}, {"loss": "coms"})
    spec = parse_method('hot=guided_diffusion:{"scale": 2.0, "surrogate": {"loss": "listnet"}}')
    assert spec == MethodSpec("hot", "guided_diffusion", {"scale": 2.0}, {"loss": "listnet"})
    spec = parse_method('ga_polished=gradient_ascent:{"stages": {"polish_rounds": 4}}')
    assert spec == MethodSpec("ga_polished", "gradient_ascent", {}, {}, {"polish_rounds": 4})
    spec = parse_method(
        'ringed=guided_diffusion:{"constraints": {"properties": {"LargestRingSize": [null, 7]}}}'
    )
    assert spec.constraints == {"properties": {"LargestRingSize": [None, 7]}} and spec.options == {}
    config = run_config(GenmboConfig(), spec, "moses-qed", 0, 16)
    assert config.constraints.properties == {"LargestRingSize": [None, 7]}
    assert run_config(GenmboConfig(), parse_method("pgs"), "moses-qed", 0, 16).constraints.properties == {}
    with pytest.raises(ConfigError, match="options are not JSON"):
        parse_method("pgs:{bad")


def test_quick_suite_writes_results_and_a_table_of_means(tmp_path, capsys):
    (tmp_path / "tiny.yaml").write_text(TINY)
    flagship = {"policy": None, "num_steps": 5}
    methods = ["best_offline", "gradient_ascent", "coms", "genetic", "pgs_tiny=pgs:" + json.dumps(TINY_PGS)]
    methods.append("gd_tiny=guided_diffusion:" + json.dumps(flagship))
    argv = ["benchmark", "--tasks", "ackley-4", "tfbind8", "--methods", *methods, "--seeds", "0", "1"]
    argv += ["--budget", "16", "--config", str(tmp_path / "tiny.yaml"), "--out", str(tmp_path / "bench")]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    results = pd.read_csv(tmp_path / "bench" / "results.csv")
    assert len(results) == 2 * 6 * 2
    assert set(results["method"]) == {
        "best_offline",
        "gradient_ascent",
        "coms",
        "genetic",
        "pgs_tiny",
        "gd_tiny",
    }
    for column in ("novelty", "search_seconds", "fit_seconds"):
        assert results[column].notna().all(), column
    # Each row scores the library the run wrote: NaN exactly where nothing new survived the filter.
    for row in results.itertuples():
        library = pd.read_csv(tmp_path / "bench" / row.task / f"seed-{row.seed}" / row.method / "library.csv")
        assert np.isnan(row.score_100th) == library.empty
        if not library.empty:
            assert row.score_100th == pytest.approx(library["normalized_score"].max(), rel=1e-6)
            assert len(library) <= 16 and library["design"].is_unique
        assert row.library_size == len(library)
    assert results["score_100th"].notna().all()
    # On ackley-4 (identity autoencoder) D(best) returns the best visible designs themselves.
    ackley_best = results[(results["task"] == "ackley-4") & (results["method"] == "best_offline")]
    np.testing.assert_allclose(ackley_best["score_100th"], ackley_best["best_offline_normalized"], rtol=1e-6)
    assert (ackley_best["novelty"] == 0).all()
    # The printed table is the mean and population std of the CSV's values.
    grad = results[(results["task"] == "tfbind8") & (results["method"] == "gradient_ascent")]["score_100th"]
    expected_cell = f"{grad.mean():.3f} ± {grad.std(ddof=0):.3f}"
    row = next(line for line in printed.splitlines() if line.startswith("| gradient_ascent |"))
    assert expected_cell in row
    # Two tables, each a header and a row per method, and one of the libraries short of the budget.
    short = int((results.groupby(["task", "method"])["library_size"].min() < 16).sum())
    tables = (tmp_path / "bench" / "results.md").read_text()
    assert tables.count("\n| ") == 2 * (6 + 1) + (short + 1 if short else 0)
    assert (tmp_path / "bench" / "tfbind8" / "seed-1" / "surrogate-loss-coms" / "surrogate.ckpt").is_file()
    # The flagship polishes TFBind8 designs with a surrogate of the designs; vectors have none.
    assert results[results["method"] == "gd_tiny"]["score_100th"].notna().all()
    assert (
        tmp_path / "bench" / "tfbind8" / "seed-0" / "surrogate-design-features" / "surrogate.ckpt"
    ).is_file()
    assert not (tmp_path / "bench" / "ackley-4" / "seed-0" / "surrogate-design-features").exists()
    # The screening ceiling reads the TFBind8 models the suite trained: per seed, then the mean.
    ceiling = subprocess.run(
        [sys.executable, str(CEILING_SCRIPT), str(tmp_path / "bench"), "--seeds", "0", "1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert ceiling[0] == "| seed | 100th | 50th |"
    cells = [line.strip("|").split("|") for line in ceiling[2:]]
    assert [row[0].strip() for row in cells] == ["0", "1", "mean"]
    values = np.array([[float(cell) for cell in row[1:]] for row in cells])
    assert ((values[:, 1] <= values[:, 0]) & (values >= 0).all(axis=1) & (values <= 1).all(axis=1)).all()
    np.testing.assert_allclose(values[2], values[:2].mean(axis=0), atol=1e-3)
    # With one-hot designs it trains its own surrogate (here the tiny one) and saves it.
    argv = [
        str(tmp_path / "bench"),
        "--seeds",
        "0",
        "--features",
        "onehot",
        "--config",
        str(tmp_path / "tiny.yaml"),
    ]
    onehot = subprocess.run(
        [sys.executable, str(CEILING_SCRIPT), *argv], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    best, median = (float(cell) for cell in onehot[2].strip("|").split("|")[1:])
    assert 0 <= median <= best <= 1
    assert (tmp_path / "bench" / "tfbind8" / "seed-0" / "surrogate-onehot" / "surrogate.ckpt").is_file()
    # With the design surrogate's features (one-hot and 3-mer counts), trained with the tiny configuration.
    tiny = str(tmp_path / "tiny.yaml")
    design = [
        str(CEILING_SCRIPT),
        str(tmp_path / "bench"),
        "--seeds",
        "0",
        "--features",
        "design",
        "--config",
        tiny,
    ]
    lines = subprocess.run(
        [sys.executable, *design], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert [line.split("|")[1].strip() for line in lines[2:]] == ["0", "mean"]
    screen = tmp_path / "bench" / "tfbind8" / "seed-0" / "surrogate-design-features-screen"
    # 8 x 4 one-hot inputs and the 64 3-mer counts.
    assert load_surrogate(screen / "surrogate.ckpt").latent_dim == 32 + 64


class OfflineDesignsAtTheOrigin(SearchMethod):
    """Chooses the best offline designs, but returns the origin as their latents (decoding elsewhere)."""

    name = "offline_designs_at_the_origin"
    proposes_offline_designs = True

    def __call__(self, problem, budget, generator):
        return self.candidates(problem, budget, generator).latents

    def candidates(self, problem, budget, generator):
        order = torch.argsort(problem.scores, descending=True)[:budget].tolist()
        designs = [problem.designs[row] for row in order]
        return Candidates(torch.zeros(budget, problem.latents.shape[1]), designs)


def test_the_benchmark_scores_the_designs_a_method_chose_not_its_latents(tmp_path, monkeypatch):
    monkeypatch.setitem(SEARCH_METHODS, "offline_designs_at_the_origin", OfflineDesignsAtTheOrigin)
    (tmp_path / "tiny.yaml").write_text(TINY)
    argv = ["benchmark", "--tasks", "ackley-4", "--methods", "offline_designs_at_the_origin", "--seeds", "0"]
    argv += ["--budget", "4", "--config", str(tmp_path / "tiny.yaml"), "--out", str(tmp_path / "bench")]
    assert main(argv) == 0
    row = pd.read_csv(tmp_path / "bench" / "results.csv").iloc[0]
    # The origin would be a new design; the designs chosen are the best offline ones.
    assert row["novelty"] == 0
    assert row["score_100th"] == pytest.approx(row["best_offline_normalized"], rel=1e-6)


def test_screening_ceiling_without_models_is_one_line_and_exit_2(tmp_path):
    run = subprocess.run(
        [sys.executable, str(CEILING_SCRIPT), str(tmp_path), "--seeds", "0"], capture_output=True, text=True
    )
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("tfbind8_screening_ceiling: ")
    (tmp_path / "bad.yaml").write_text("surrogate: {members: many}\n")
    argv = [str(tmp_path), "--features", "onehot", "--config", str(tmp_path / "bad.yaml")]
    run = subprocess.run([sys.executable, str(CEILING_SCRIPT), *argv], capture_output=True, text=True)
    assert run.returncode == 2 and run.stdout == "" and run.stderr.count("\n") == 1


def test_summary_table_marks_missing_cells():
    results = pd.DataFrame(
        {
            "task": ["a", "a", "b"],
            "method": ["x", "x", "y"],
            "score_100th": [0.5, 0.7, 0.9],
            "score_50th": [0.1, 0.3, 0.2],
        }
    )
    table = summary_table(results, ["x", "y"])
    assert "| x | 0.600 ± 0.100 (0.200) |  | 0.600 |" in table
    assert "| y |  | 0.900 ± 0.000 (0.200) | 0.900 |" in table


def test_unknown_task_or_method_stops_before_training(tmp_path, capsys):
    assert main(["benchmark", "--tasks", "tfbind9", "--methods", "pgs", "--out", str(tmp_path / "o")]) == 2
    assert "unknown task 'tfbind9'" in capsys.readouterr().err
    assert main(["benchmark", "--tasks", "tfbind8", "--methods", "pgss", "--out", str(tmp_path / "o")]) == 2
    assert "unknown search method 'pgss'" in capsys.readouterr().err
    bad_stage = 'gd=guided_diffusion:{"stages": {"polish_round": 2}}'
    assert (
        main(["benchmark", "--tasks", "tfbind8", "--methods", bad_stage, "--out", str(tmp_path / "o")]) == 2
    )
    err = capsys.readouterr().err
    assert "unknown config key 'stages.polish_round'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o" / "tfbind8").exists()


MERGE_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "merge_benchmark_results.py"
CEILING_SCRIPT = MERGE_SCRIPT.with_name("tfbind8_screening_ceiling.py")
COMPARE_SCRIPT = MERGE_SCRIPT.with_name("compare_search_methods.py")


def test_the_comparison_script_is_the_benchmark_and_stops_on_bad_input_in_one_line(tmp_path):
    argv = [sys.executable, str(COMPARE_SCRIPT), "--tasks", "tfbind9", "--out", str(tmp_path / "o")]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.strip() == run.stderr.strip().splitlines()[0]
    assert run.stderr.startswith("compare_search_methods: unknown task 'tfbind9'")


def _results_part(path, rows):
    columns = ["task", "method", "seed", "score_100th", "score_50th"]
    pd.DataFrame(rows, columns=columns).to_csv(path, index=False)
    return str(path)


def test_merging_partial_runs_gives_one_table(tmp_path):
    first = _results_part(
        tmp_path / "a.csv", [["t", "genetic", 0, 0.5, 0.1], ["t", "guided_diffusion", 0, 0.9, 0.4]]
    )
    second = _results_part(tmp_path / "b.csv", [["t", "genetic", 1, 0.7, 0.3], ["t", "mine", 0, 0.2, 0.0]])
    command = [sys.executable, str(MERGE_SCRIPT), "--out", str(tmp_path / "m"), first, second]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    merged = pd.read_csv(tmp_path / "m" / "results.csv")
    assert len(merged) == 4
    table = (tmp_path / "m" / "results.md").read_text()
    # Standard methods first, in the standard order, then the others; mean ± population std (50th).
    assert table.index("| genetic |") < table.index("| guided_diffusion |") < table.index("| mine |")
    assert "| genetic | 0.600 ± 0.100 (0.200) | 0.600 |" in table
    # Ranked on task t: guided_diffusion 0.9, genetic 0.6, mine 0.2.
    assert "| guided_diffusion | 1.00 | 1 | 1 |" in table and "| mine | 3.00 | 0 | 1 |" in table

    overlapping = _results_part(tmp_path / "c.csv", [["t", "genetic", 1, 0.1, 0.1]])
    result = subprocess.run([*command, overlapping], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    message = "merge_benchmark_results: (t, genetic, seed 1) appears in more than one row"
    assert result.stderr.strip() == message


def test_a_rerun_method_replaces_every_seed_of_its_old_rows(tmp_path):
    old = _results_part(
        tmp_path / "old.csv",
        [
            ["t", "genetic", 0, 0.5, 0.1],
            ["t", "guided_diffusion", 0, 0.9, 0.4],
            ["t", "guided_diffusion", 1, 0.8, 0.4],
            ["u", "guided_diffusion", 0, 0.3, 0.2],
        ],
    )
    rerun = _results_part(tmp_path / "new.csv", [["t", "guided_diffusion", 0, 0.2, 0.1]])
    command = [sys.executable, str(MERGE_SCRIPT), "--out", str(tmp_path / "m"), old, "--replace", rerun]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    merged = pd.read_csv(tmp_path / "m" / "results.csv").sort_values(["task", "method", "seed"])
    # (t, guided_diffusion) comes from the rerun alone (its seed 1 is gone); task u keeps its old row.
    assert merged[["task", "method", "seed", "score_100th"]].values.tolist() == [
        ["t", "genetic", 0, 0.5],
        ["t", "guided_diffusion", 0, 0.2],
        ["u", "guided_diffusion", 0, 0.3],
    ]
    only = subprocess.run(
        [*command, "--methods", "guided_diffusion"], capture_output=True, text=True, timeout=120
    )
    assert only.returncode == 0, only.stderr[-2000:]
    assert set(pd.read_csv(tmp_path / "m" / "results.csv")["method"]) == {"guided_diffusion"}
    absent = subprocess.run([*command, "--methods", "pgs"], capture_output=True, text=True, timeout=120)
    assert (
        absent.returncode == 2 and absent.stderr.strip() == "merge_benchmark_results: no rows of method 'pgs'"
    )
    repeated = _results_part(tmp_path / "twice.csv", [["t", "guided_diffusion", 0, 0.4, 0.1]])
    result = subprocess.run([*command, repeated], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "appears in more than one row" in result.stderr


def test_rank_table_ranks_minus_infinity_last_and_shares_ties():
    from genmbo.benchmark.suite import rank_table

    results = pd.DataFrame(
        {
            "task": ["a", "a", "a", "b", "b", "b"],
            "method": ["x", "y", "z", "x", "y", "z"],
            "seed": [0] * 6,
            "score_100th": [0.9, -np.inf, 0.5, 0.3, 0.3, 0.1],
        }
    )
    table = rank_table(results, ["x", "y", "z"])
    # a: x 1, z 2, y 3; b: x and y share 1.5, z 3.
    assert (
        "| x | 1.25 | 1 | 2 |" in table
        and "| y | 2.25 | 0 | 2 |" in table
        and "| z | 2.50 | 0 | 2 |" in table
    )
    # A method run on one task only is ranked there alone; one whose mean is NaN ranks last there.
    extra = pd.DataFrame(
        {"task": ["a", "b"], "method": ["w", "v"], "seed": [0, 0], "score_100th": [2.0, np.nan]}
    )
    table = rank_table(pd.concat([results, extra]), ["x", "y", "z", "w", "v"])
    # a: w 1, x 2, z 3, y 4; b: x and y 1.5, z 3, v 4.
    assert (
        "| w | 1.00 | 1 | 1 |" in table
        and "| v | 4.00 | 0 | 1 |" in table
        and "| x | 1.75 | 0 | 2 |" in table
    )


def test_molecular_rows_carry_the_librarys_realism_beside_the_top_decile():
    from genmbo.benchmark.suite import REALISM_KEYS, realism_columns, realism_table
    from genmbo.metrics.molecule_realism import molecule_property_metrics

    library = ["c1ccccc1O", "C1CCCCCCCC1", None, "CCO"]  # one ring of 9 atoms among three molecules
    reference = {f"top_decile_{key}": 0.5 for key in REALISM_KEYS}
    columns = realism_columns(library, reference)
    expected = molecule_property_metrics(["c1ccccc1O", "C1CCCCCCCC1", "CCO"])
    assert columns["large_ring_share"] == pytest.approx(1 / 3)
    assert {key: columns[key] for key in REALISM_KEYS} == {key: expected[key] for key in REALISM_KEYS}
    assert columns["top_decile_sa_mean"] == 0.5
    assert realism_columns(library, {}) == {}  # not a molecular task

    rows = [
        {"task": "m", "method": "a", "seed": seed, **dict.fromkeys(REALISM_KEYS, value), **reference}
        for seed, value in ((0, 0.2), (1, 0.4))
    ]
    table = realism_table(pd.DataFrame(rows), ["a", "absent"]).splitlines()
    assert table[2] == "| m | a | 0.30 | 30.0% | 30.0% | 30.0% | 30.0% | 30.0% |"
    assert table[3] == "| m | offline top decile | 0.50 | 50.0% | 50.0% | 50.0% | 50.0% | 50.0% |"
    assert len(table) == 4
    # Rows written before the BRENK and NIH columns existed: their cells read "–", the rest as before.
    older = pd.DataFrame(rows).drop(columns=["brenk_share", "nih_share", "top_decile_brenk_share"])
    table = realism_table(older, ["a"]).splitlines()
    assert table[2] == "| m | a | 0.30 | 30.0% | 30.0% | 30.0% | – | – |"
    assert table[3] == "| m | offline top decile | 0.50 | 50.0% | 50.0% | 50.0% | – | 50.0% |"


def test_short_libraries_are_listed_with_their_mean_and_smallest_size():
    from genmbo.benchmark.suite import short_library_table

    rows = pd.DataFrame(
        {
            "task": ["m", "m", "m", "m", "t"],
            "method": ["a", "a", "b", "b", "a"],
            "seed": [0, 1, 0, 1, 0],
            "library_size": [128, 100, 128, 128, None],  # b is full; t's row predates the column
        }
    )
    table = short_library_table(rows, ["a", "b"], 128).splitlines()
    assert table[2:] == ["| m | a | 114.0 | 100 |"]


def test_a_base_config_may_not_set_what_every_run_sets(tmp_path, capsys):
    for setting, flag in (
        ("search.scale=2", "--methods"),
        ("run.n_candidates=3", "--budget"),
        ("run.seed=4", "--seeds"),
    ):
        argv = ["benchmark", "--tasks", "tfbind8", "--set", setting, "--out", str(tmp_path / "b")]
        assert main(argv) == 2
        assert flag in capsys.readouterr().err
    assert not (tmp_path / "b").exists()
    with pytest.raises(ConfigError, match="name the method before the colon"):
        parse_method('x=pgs:{"method": "genetic"}')


def test_variants_that_train_the_same_step_size_policy_train_it_once(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    policy = {**TINY_PGS, "spaces": ["continuous"]}  # trained on vectors too (by default sequences only)
    flagship = {"policy": policy, "num_steps": 5}
    methods = [
        "gd=guided_diffusion:" + json.dumps(flagship),
        "gd_no_portfolio=guided_diffusion:" + json.dumps({**flagship, "stages": {"portfolio": 0}}),
        "gd_longer=guided_diffusion:" + json.dumps({**flagship, "policy": {**policy, "updates": 6}}),
    ]
    out = tmp_path / "bench"
    argv = ["benchmark", "--tasks", "ackley-4", "--methods", *methods, "--seeds", "0", "--budget", "4"]
    assert main([*argv, "--config", str(tmp_path / "tiny.yaml"), "--out", str(out)]) == 0
    trainings = sorted((out / "ackley-4" / "seed-0" / "policy" / "p50").iterdir())
    # Two trainings (5 and 6 updates), the first shared by the two variants: it ran once, never resumed.
    assert len(trainings) == 2 and all((folder / "policies.pt").is_file() for folder in trainings)
    assert not any(list(folder.glob("logs/resumed-*")) for folder in trainings)
    assert len(pd.read_csv(out / "results.csv")) == 3


HELD_OUT_SUITE = Path(__file__).parents[2] / "scripts" / "held_out_suite.sh"
ABLATION = ["guided_diffusion", "gd_no_portfolio", "gd_no_polish", "gd_no_policy", "gd_unguided"]
ABLATION += ["gradient_ascent", "ga_portfolio", "ga_polish", "ga_both"]


def test_the_held_out_suite_merges_its_parts_into_the_suite_and_the_ablation(tmp_path):
    parts = tmp_path / "parts"
    for name, seed in (("t-seed3", 3), ("t-seed4", 4)):
        (parts / name).mkdir(parents=True)
        rows = [
            ["t", method, seed, 0.5 + seed / 10, 0.1]
            for method in dict.fromkeys([*STANDARD_METHODS, *ABLATION])
        ]
        _results_part(parts / name / "results.csv", rows + [["t", "other", seed, 0.0, 0.0]])
    run = subprocess.run(
        ["bash", str(HELD_OUT_SUITE), str(tmp_path), "merge"], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    suite = pd.read_csv(tmp_path / "suite" / "results.csv")
    ablation = pd.read_csv(tmp_path / "ablation" / "results.csv")
    assert set(suite["method"]) == set(STANDARD_METHODS) and len(suite) == 14
    assert set(ablation["method"]) == set(ABLATION) and len(ablation) == 18
    bad = subprocess.run(["bash", str(HELD_OUT_SUITE), str(tmp_path), "all"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "unknown lane 'all'" in bad.stderr


def test_each_method_gets_the_prior_design_would_give_it(monkeypatch, tmp_path):
    """DDOM needs a score-conditioned diffusion; where the prior fitted for the other methods is the
    shipped, unconditional MOSES one, DDOM gets its own, trained on the campaign; elsewhere they share."""
    from types import SimpleNamespace

    from genmbo.benchmark import suite

    calls = []

    def fake_fit(dataset, config, folder, seed, needs_condition, shipped_unconditional):
        calls.append((folder.name, needs_condition))
        conditional = needs_condition or not shipped_unconditional
        diffusion = SimpleNamespace(hparams=SimpleNamespace(conditional=conditional))
        return SimpleNamespace(diffusion=diffusion), f"latents of {folder.name}"

    config = SimpleNamespace(prior=None)
    for shipped, needs, expected in (
        (True, {False, True}, [("prior", False), ("prior-conditional", True)]),
        (False, {False, True}, [("prior", False)]),
        (True, {True}, [("prior", True)]),
        (True, {False}, [("prior", False)]),
    ):
        calls.clear()
        monkeypatch.setattr(
            suite, "fit_prior_and_encode", lambda *args, shipped=shipped: fake_fit(*args, shipped)
        )
        priors = suite._priors(None, config, needs, tmp_path, 0)
        assert calls == expected and set(priors) == needs
        if needs == {False, True}:
            shared = priors[True] is priors[False]
            assert shared == (not shipped) and priors[True][0].diffusion.hparams.conditional
