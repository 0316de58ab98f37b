"""The task-prior diagnosis runs end to end on a tiny vector prior, and its rows mean what they say."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "diagnose_task_prior.py"


def _table(text: str) -> dict[str, list[str]]:
    rows = [line.strip("|").split("|") for line in text.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in rows[0]]
    return {
        row[0].strip(): dict(zip(header[1:], (cell.strip() for cell in row[1:]), strict=True))
        for row in rows[1:]
    }


def test_diagnosis_of_a_vector_prior(tmp_path):
    fit = [sys.executable, "-m", "genmbo", "fit", "--task", "ackley-32", "--out", str(tmp_path / "fit")]
    fit += ["--samples", "50", "--set", "prior.diffusion.max_steps=20"]
    assert subprocess.run(fit, capture_output=True, text=True, timeout=300).returncode == 0
    command = [sys.executable, str(SCRIPT), "--task", "ackley-32", "--prior", str(tmp_path / "fit" / "prior")]
    result = subprocess.run([*command, "--samples", "100"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    table = _table(result.stdout)
    assert list(table) == [
        "floor",
        "reconstruction",
        "codes + noise 0.1",
        "codes + noise 0.3",
        "codes + noise 1.0",
        "Gaussian fit",
        "diffusion",
    ]
    assert set(table["floor"]) == {"novelty", "energy_distance", "mmd"}
    # The floor is offline designs; the identity autoencoder gives them back, so both rows measure the same.
    assert table["floor"]["novelty"] == "0.000"
    assert table["reconstruction"]["energy_distance"] == table["floor"]["energy_distance"]
    # Far from the codes, designs drift away from the data.
    assert float(table["codes + noise 1.0"]["energy_distance"]) > float(table["floor"]["energy_distance"])
