"""One way to build a Lightning `Trainer` for every model genmbo trains, with resumable checkpoints.

Each model trains in its own folder under a run directory: `last.ckpt` is saved every
`checkpoint_every` steps, so a rerun of the same command resumes from it (`resume_path`) and ends with the
same weights as an uninterrupted run (seeded data order, fixed step count).
"""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger, Logger, TensorBoardLogger

from genmbo.progress import progress_enabled


def build_trainer(
    run_dir: Path,
    max_steps: int,
    checkpoint_every: int = 250,
    progress_bar: bool = False,
    limit_val_batches: int | float = 1.0,
) -> pl.Trainer:
    """A CPU-or-accelerator trainer logging CSV (and TensorBoard, if installed) to `run_dir/logs` and
    checkpointing to `run_dir`; it draws a progress bar when asked or when the command line shows
    progress."""
    run_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = ModelCheckpoint(
        dirpath=run_dir, save_last=True, save_top_k=0, every_n_train_steps=checkpoint_every
    )
    return pl.Trainer(
        max_steps=max_steps,
        accelerator="auto",
        devices=1,
        logger=_loggers(run_dir),
        callbacks=[checkpoint],
        enable_progress_bar=progress_bar or progress_enabled(),
        enable_model_summary=False,
        limit_val_batches=limit_val_batches,
        num_sanity_val_steps=0,
        # At least 20 logged points per run, so short runs also leave a training curve.
        log_every_n_steps=max(1, min(50, max_steps // 20)),
        deterministic=True,
    )


def _loggers(run_dir: Path) -> list[Logger]:
    loggers: list[Logger] = [CSVLogger(run_dir, name="logs", version="")]
    try:
        import tensorboard  # noqa: F401  (optional: only its presence matters)
    except ImportError:
        return loggers
    return [*loggers, TensorBoardLogger(run_dir, name="logs", version="tensorboard")]


def resume_path(run_dir: Path) -> Path | None:
    """`run_dir/last.ckpt` if an earlier run of the same command left one."""
    last = run_dir / "last.ckpt"
    return last if last.is_file() else None
