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
        "VAE prior N(0, I)",
    }
    assert all(row["candidates_per_second"] > 0 and 0 <= row["valid_share"] <= 1 for row in speed["samplers"])
    for row in speed["kernels"]:
        assert row["max_abs_difference"] <= 1e-6, row  # the same values as RDKit's BulkTanimotoSimilarity
    assert [row["offline_size"] for row in speed["scaling"]["offline"]] == [1_000, 10_000]
    assert (tmp_path / "scaling.png").stat().st_size > 0 and (tmp_path / "main_job_stages.png").is_file()
    assert "| main job stage | seconds |" in (tmp_path / "speed.md").read_text()
