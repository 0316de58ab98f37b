"""The speed suite's quick version runs end to end, so the script cannot rot; its kernels agree with RDKit."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_speed.py"


def test_quick_speed_suite(tmp_path):
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"timings": {"load": 1.0, "fit_prior": 2.0}}))
    command = [sys.executable, str(SCRIPT), "--out", str(tmp_path), "--quick", "--main-job", str(metrics)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    speed = json.loads((tmp_path / "speed.json").read_text())
    assert {row["sampler"] for row in speed["samplers"]} >= {
        "latent diffusion, DDIM 50 steps",
        "latent diffusion, DPM-Solver++ 5 steps",
        "latent diffusion, DPM-Solver++ 5 steps, bfloat16",
        "VAE prior N(0, I)",
    }
    assert all(row["candidates_per_second"] > 0 and 0 <= row["valid_share"] <= 1 for row in speed["samplers"])
    stages = speed["sampler_stages"]["seconds_per_1000"]
    assert list(stages) == ["denoise", "decoder network", "SELFIES to SMILES", "RDKit canonical SMILES"]
    assert (
        all(seconds > 0 for seconds in stages.values()) and speed["sampler_stages"]["ceiling_per_second"] > 0
    )
    for row in speed["kernels"]:
        assert row["max_abs_difference"] <= 1e-6, row  # the same values as RDKit's BulkTanimotoSimilarity
    assert [row["offline_size"] for row in speed["scaling"]["offline"]] == [1_000, 10_000]
    assert (tmp_path / "scaling.png").stat().st_size > 0 and (tmp_path / "main_job_stages.png").is_file()
    assert "| main job stage | seconds |" in (tmp_path / "speed.md").read_text()


def _script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_speed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sequence_campaign_data_is_distinct_fixed_length_sequences_with_scores(tmp_path):
    import pandas as pd

    path = tmp_path / "campaign.csv"
    _script().sequence_campaign_data(path, rows=500, seed=3)
    frame = pd.read_csv(path)
    assert len(frame) == 500 and frame["sequence"].is_unique
    assert set(frame["sequence"].str.len()) == {40}
    assert len(set("".join(frame["sequence"]))) == 24
    assert frame["score"].std() > 0


def test_speed_table_puts_each_figure_beside_its_target():
    script = _script()
    run = {"wall_seconds": 100.0, "peak_gb": 1.5, "threads": 2, "timings": {}}
    results = {
        "machine": "test",
        "campaigns": {
            "main job, empty cache": {**run, "wall_seconds": 200.0},
            "main job, filled cache": run,
            "main job beside one CPU-bound process": {**run, "wall_seconds": 150.0},
            "25,000-row sequence campaign": {**run, "wall_seconds": 240.0},
        },
        "samplers": [
            {"sampler": "latent diffusion, DPM-Solver++ 5 steps", "valid_per_second": 2000.0},
            {"sampler": script.TARGET_SAMPLER, "valid_per_second": 5100.0},
            {"sampler": script.DEFAULT_SAMPLER, "valid_per_second": 900.0},
        ],
    }
    rows = {row["figure"]: (row["value"], row["met"]) for row in script.target_rows(results)}
    assert rows == {
        "main job, empty cache": (200.0, False),
        "main job, filled cache": (100.0, False),
        "main job, peak memory": (1.5, True),
        "main job beside one CPU-bound process": (1.5, True),
        "25,000-row sequence campaign": (240.0, True),
        "sampler (DPM-Solver++ 5 steps, bfloat16), valid molecules": (5100.0, True),
    }
