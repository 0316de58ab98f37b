"""`genmbo.design` from Python: a DataFrame in, the library the command line writes from that table."""

import pandas as pd
import pytest
from test_design import dna_table, run_design, write_config

import genmbo
from genmbo.errors import ConfigError


def test_a_dataframe_campaign_writes_the_library_the_command_line_writes(tmp_path, capsys):
    table = dna_table()
    cli_out, _ = run_design(
        tmp_path, capsys, table, ["--space", "sequence", "--design-col", "seq", "--score-col", "y"]
    )
    outcome = genmbo.design(
        table,
        space="sequence",
        design_col="seq",
        score_col="y",
        config=write_config(tmp_path),
        out=tmp_path / "python",
    )
    assert (tmp_path / "python" / "input.parquet").is_file()
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "python" / "input.parquet"), table)
    from_cli = pd.read_csv(cli_out / "library.csv")
    assert outcome.library["design"].tolist() == from_cli["design"].tolist()
    assert outcome.files["csv"] == tmp_path / "python" / "library.csv"
    assert outcome.metrics["n_candidates"] == len(from_cli)


def test_overrides_are_checked_before_any_data_is_read(tmp_path):
    with pytest.raises(ConfigError, match="did you mean 'search.scale'"):
        genmbo.design(
            dna_table(),
            space="sequence",
            design_col="seq",
            score_col="y",
            out=tmp_path / "bad",
            overrides=["search.scael=2"],
        )
    with pytest.raises(ConfigError, match="give data"):
        genmbo.design(out=tmp_path / "nothing")
    assert list(tmp_path.iterdir()) == []  # nothing written: neither a folder nor the DataFrame


def test_objectives_from_python_give_the_command_lines_library(tmp_path, capsys):
    table = dna_table()
    table["z"] = [design.count("A") for design in table["seq"]]
    table["gc"] = [design.count("G") + design.count("C") for design in table["seq"]]
    options = ["--space", "sequence", "--design-col", "seq", "--objective", "y:max", "--objective", "z:min"]
    cli_out, cli_metrics = run_design(tmp_path, capsys, table, [*options, "--constraint", "gc:2:6"])
    outcome = genmbo.design(
        table,
        space="sequence",
        design_col="seq",
        objectives=["y:max", "z:min"],
        constraints=["gc:2:6"],
        config=write_config(tmp_path),
        out=tmp_path / "python",
    )
    assert outcome.library["design"].tolist() == pd.read_csv(cli_out / "library.csv")["design"].tolist()
    assert outcome.metrics["pareto"] == cli_metrics["pareto"]
    assert "predicted_z_std" in outcome.library and "pareto_front" in outcome.library
    assert outcome.metrics["constraints"] == [{"column": "gc", "low": 2.0, "high": 6.0}]
    assert "feasible" in outcome.library
