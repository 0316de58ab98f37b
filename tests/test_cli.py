import json
import subprocess
import sys

import pandas as pd
import pytest

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
    assert capsys.readouterr().err.strip().endswith(expected + "'run.n_candidates', 'run.out'")


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
