"""Faults: a run killed with SIGKILL, or stopped with SIGTERM or Ctrl-C, resumes to the same library."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch

# Long enough training (a tiny model) that a signal lands mid-way; frequent checkpoints.
CONFIG = """
prior:
  autoencoder: {latent_dim: 4, hidden_dim: 16, embedding_dim: 8, max_steps: 400, batch_size: 16}
  diffusion: {hidden_dim: 16, num_blocks: 1, max_steps: 60, batch_size: 16}
surrogate: {members: 2, hidden_dims: [16], max_steps: 60, batch_size: 16}
search: {num_steps: 10, policy: null}  # equal guidance steps: no PGS training
run: {n_candidates: 8, checkpoint_every: CHECKPOINT_EVERY}
"""


def write_inputs(folder, checkpoint_every):
    rng = np.random.default_rng(0)
    designs = ["".join(rng.choice(list("ACGT"), 8)) for _ in range(120)]
    table = pd.DataFrame({"seq": designs, "y": [design.count("G") for design in designs]})
    table.to_csv(folder / "data.csv", index=False)
    (folder / "config.yaml").write_text(CONFIG.replace("CHECKPOINT_EVERY", str(checkpoint_every)))


def command(folder, out):
    return [
        sys.executable, "-m", "genmbo", "design", "--data", str(folder / "data.csv"), "--space", "sequence",
        "--design-col", "seq", "--score-col", "y", "--config", str(folder / "config.yaml"),
        "--out", str(out), "--no-progress",
    ]  # fmt: skip


def run_to_end(folder, out):
    result = subprocess.run(command(folder, out), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return pd.read_csv(out / "library.csv")


def start_and_wait_for(folder, out, marker, timeout=120):
    process = subprocess.Popen(
        command(folder, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + timeout
    while not marker.exists():
        assert process.poll() is None, process.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "the run never reached the marker"
        time.sleep(0.02)
    return process


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run's library (checkpoint interval does not change results)."""
    folder = tmp_path_factory.mktemp("reference")
    write_inputs(folder, 20)
    return run_to_end(folder, folder / "run")


def test_sigkill_mid_training_then_rerun_gives_the_same_library(tmp_path, reference):
    write_inputs(tmp_path, 20)
    out = tmp_path / "run"
    autoencoder_dir = out / "prior" / "autoencoder"
    process = start_and_wait_for(tmp_path, out, autoencoder_dir / "last.ckpt")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    saved_step = torch.load(autoencoder_dir / "last.ckpt", weights_only=True)["global_step"]
    assert 0 < saved_step < 400 and not (out / "library.csv").exists()
    pd.testing.assert_frame_equal(run_to_end(tmp_path, out), reference)
    assert (autoencoder_dir / "logs" / "resumed-1" / "metrics.csv").is_file()  # it resumed, not restarted
    assert (autoencoder_dir / "logs" / "metrics.csv").is_file()  # and the first run's log survives


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_ctrl_c_save_a_checkpoint_and_the_rerun_finishes_the_same(
    tmp_path, reference, stop_signal
):
    write_inputs(tmp_path, 10_000)  # no periodic checkpoint: only the interruption can save one
    out = tmp_path / "run"
    autoencoder_dir = out / "prior" / "autoencoder"
    process = start_and_wait_for(tmp_path, out, autoencoder_dir / "logs" / "hparams.yaml")
    time.sleep(0.3)
    os.kill(process.pid, stop_signal)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode in (130, 143)
    assert stderr.strip().splitlines()[-1].endswith("rerun the same command to resume")
    assert "Traceback" not in stderr
    saved_step = torch.load(autoencoder_dir / "last.ckpt", weights_only=True)["global_step"]
    assert 0 < saved_step < 400
    pd.testing.assert_frame_equal(run_to_end(tmp_path, out), reference)
