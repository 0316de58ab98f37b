import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml

from genmbo.cli import main


def test_tasks_lists_every_task_with_sizes(capsys):
    assert main(["tasks", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_name = {row["name"]: row for row in rows}
    assert by_name["tfbind8"]["visible"] == 32_898 and by_name["tfbind8"]["full"] == 65_792
    assert by_name["ackley-32"]["visible"] == 5_000
    assert {"moses-qed", "moses-penalized-logp", "moses-celecoxib-rediscovery"} <= set(by_name)
    for row in rows:
        assert 0 < row["visible"] < row["full"]


def test_tasks_table_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "genmbo", "tasks"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "tfbind8" in result.stdout and "32,898" in result.stdout and "65,792" in result.stdout


def test_evaluate_scores_a_library(tmp_path, capsys):
    library = tmp_path / "library.csv"
    pd.DataFrame({"design": ["GGGGGGGG", "ACGTACGT", "ACGN"]}).to_csv(library, index=False)
    assert main(["evaluate", "--task", "tfbind8", "--library", str(library)]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["n_candidates"] == 3 and metrics["n_valid"] == 2
    assert metrics["validity"] == pytest.approx(2 / 3)
    assert 0 <= metrics["score_50th"] <= metrics["score_100th"] <= 1


def test_config_prints_defaults_and_rejects_unknown_keys(tmp_path, capsys):
    assert main(["config", "configs/default.yaml"]) == 0
    assert "n_candidates: 128" in capsys.readouterr().out
    (tmp_path / "c.yaml").write_text("run:\n  sed: 1\n")
    assert main(["config", str(tmp_path / "c.yaml")]) == 2
    expected = "unknown config key 'run.sed' (did you mean 'run.seed'?); valid keys here: 'run.seed', "
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith(expected + "'run.n_candidates', 'run.out', 'run.checkpoint_every', 'run.threads'")
    )


def test_set_overrides_any_key_and_a_misspelled_one_fails_before_any_data_is_read(tmp_path, capsys):
    assert (
        main(
            [
                "config",
                "--set",
                "search.scale=2",
                "--set",
                "run.n_candidates=7",
                "--set",
                "search.policy=null",
            ]
        )
        == 0
    )
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["search"]["scale"] == 2.0 and printed["search"]["policy"] is None
    assert printed["run"]["n_candidates"] == 7
    argv = ["design", "--task", "tfbind8", "--set", "search.scael=2", "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    assert "unknown config key 'search.scael' (did you mean 'search.scale'?)" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # stopped before the output folder, the data or any training
    assert main(["config", "--set", "search.scale"]) == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["tasks", "--colour"], "unrecognized arguments: --colour"),
        (["evaluate", "--task", "tfbind8"], "the following arguments are required: --library"),
        (["evaluate", "--task", "tfbind9", "--library", "x.csv"], "unknown task 'tfbind9'"),
        (["evaluate", "--task", "tfbind8", "--library", "missing.csv"], "missing.csv: no such file"),
    ],
)
def test_usage_errors_are_one_line_with_exit_code_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert exit_code(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def exit_code(argv):
    """What the shell would see: argparse exits through SystemExit, the handlers return a code."""
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code


TINY_PRIOR = """
prior:
  autoencoder: {latent_dim: 4, hidden_dim: 16, embedding_dim: 8, max_steps: 20, batch_size: 32}
  diffusion: {hidden_dim: 16, num_blocks: 1, max_steps: 20, batch_size: 32}
"""


@pytest.mark.parametrize(
    ("table", "options", "kept"),
    [
        (
            pd.DataFrame({"seq": ["ACGTAC", "GGGTTA", "ACGTTT", "CCCAAA", "acgtac"], "y": [1, 2, 3, 4, 5]}),
            ["--space", "sequence", "--design-col", "seq", "--score-col", "y"],
            5,  # an inferred alphabet is case-sensitive: "acgtac" is its own design
        ),
        (
            pd.DataFrame(
                {"x0": [0.1, 0.5, 0.9, 0.3], "x1": [1.0, 0.2, 0.4, 0.8], "f": [1.0, 2.0, None, 0.5]}
            ),
            ["--space", "continuous", "--design-col", "x", "--score-col", "f", "--minimize"],
            3,
        ),
    ],
)
def test_fit_on_user_data_writes_prior_and_metrics(tmp_path, capsys, table, options, kept):
    table.to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "tiny.yaml").write_text(TINY_PRIOR)
    out = tmp_path / "run"
    argv = ["fit", "--data", str(tmp_path / "data.csv"), *options, "--config", str(tmp_path / "tiny.yaml")]
    assert main([*argv, "--out", str(out), "--samples", "20"]) == 0
    metrics = json.loads((out / "prior_metrics.json").read_text())
    assert {"sample_validity", "sample_uniqueness", "sample_novelty"} <= set(metrics)
    # Every realism metric of the samples stands beside the same metric for real designs (the floor).
    realism = {key for key in metrics if key.startswith("realism_") and not key.endswith("_floor")}
    assert realism and {f"{key}_floor" for key in realism} <= set(metrics)
    # Vectors in a small space use the identity autoencoder: reconstruction exact to float32.
    assert "reconstruction_exact_match" in metrics or metrics["reconstruction_rmse"] < 1e-5
    assert 0 <= metrics["sample_validity"] <= 1 and set(metrics["timings"]) == {
        "load",
        "fit_prior",
        "evaluate",
    }
    cleaning = json.loads((out / "cleaning.json").read_text())
    assert cleaning["rows_read"] == len(table) and cleaning["rows_kept"] == kept
    assert (out / "prior" / "prior.json").is_file() and (out / "config.yaml").is_file()
    assert "prior saved in" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fit", "--task", "tfbind8"], "name an output folder (--out DIR)"),
        (["fit", "--out", "o"], "name a task (--task) or a data file"),
        (
            ["fit", "--task", "tfbind8", "--data", "x.csv", "--out", "o"],
            "either a task or a data file, not both",
        ),
        (["fit", "--data", "x.csv", "--out", "o"], "say which design space"),
        (["fit", "--task", "tfbind8", "--out", "o", "--seed", "-1"], "'run.seed' must be >= 0, got -1"),
    ],
)
def test_fit_input_errors(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert exit_code(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_output_folder_that_is_a_file(tmp_path, capsys):
    (tmp_path / "taken").write_text("")
    assert exit_code(["fit", "--task", "tfbind8", "--out", str(tmp_path / "taken")]) == 2
    assert "the output folder is a file" in capsys.readouterr().err


def test_percentile_among_infeasible_scores_is_minus_infinity():
    from genmbo.benchmark.evaluation import percentile

    values = np.array([-np.inf, -np.inf, -np.inf, 0.5])
    assert percentile(values, 50) == -np.inf and percentile(values, 100) == 0.5
    assert percentile(np.array([0.0, 1.0]), 50) == 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the NaN numpy computes on the way is not the user's concern
        assert percentile(np.array([-np.inf, -np.inf]), 100) == -np.inf


def test_distributed_options_reach_the_config():
    from genmbo.cli import build_parser, run_config_from

    args = build_parser().parse_args(
        [
            "design",
            "--task",
            "tfbind8",
            "--out",
            "o",
            "--strategy",
            "ddp",
            "--devices",
            "4",
            "--num-nodes",
            "2",
        ]
    )
    distributed = run_config_from(args).distributed
    assert (distributed.strategy, distributed.devices, distributed.num_nodes) == ("ddp", 4, 2)
    args = build_parser().parse_args(["design", "--task", "tfbind8", "--out", "o", "--devices", "auto"])
    assert run_config_from(args).distributed.devices == "auto"


def test_fit_on_an_ehrlich_task_samples_only_feasible_sequences(tmp_path):
    """Decoding keeps to the token transitions of the offline data, all of which are feasible; without
    that, the undertrained tiny prior's samples all break a banned transition somewhere."""
    feasible = {}
    for restricted in (True, False):
        config = TINY_PRIOR.replace(
            "batch_size: 32}", f"batch_size: 32, observed_transitions_only: {restricted}}}", 1
        )
        (tmp_path / "tiny.yaml").write_text(config)
        out = tmp_path / f"run-{restricted}"
        argv = ["fit", "--task", "ehrlich-s32-d16-m2-l4-q4", "--config", str(tmp_path / "tiny.yaml")]
        assert main([*argv, "--out", str(out), "--samples", "50"]) == 0
        metrics = json.loads((out / "prior_metrics.json").read_text())
        assert metrics["sample_validity"] == 1.0
        feasible[restricted] = metrics["sample_feasible"]
    assert feasible[True] == 1.0 and feasible[False] < 0.5
