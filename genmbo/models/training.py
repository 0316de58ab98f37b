"""One way to build a Lightning `Trainer` for every model genmbo trains, with resumable checkpoints.

Each model trains in its own folder under a run directory: `last.ckpt` is saved every
`checkpoint_every` steps, so a rerun of the same command resumes from it (`resume_path`) and ends with the
same weights as an uninterrupted run. Three things make that exact: the data order is a function of the
seed and the epoch, and resumes mid-epoch (`genmbo.data.resumable`); the random number generators'
states travel in the checkpoint (`RandomStateCheckpoint`), so the noise and dropout after a resume are
the ones the uninterrupted run drew; and the step count is fixed.

Interruptions: SIGTERM (Lightning's handler) and Ctrl-C (`GracefulInterrupt` turns the first one into the
same request) stop training after the current step, and `GracefulInterrupt` then saves `last.ckpt`, so
the rerun loses nothing. SIGKILL cannot be caught; the rerun resumes from the last periodic checkpoint.
"""

from __future__ import annotations

import contextlib
import contextvars
import random
import signal
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback, ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger, Logger, TensorBoardLogger
from pytorch_lightning.utilities.exceptions import SIGTERMException

from genmbo.models.checkpoints import usable_resume_checkpoint
from genmbo.runtime.background import reclaim_lent_core
from genmbo.runtime.interrupts import training_started, training_stopped, user_interrupted
from genmbo.runtime.progress import progress_enabled
from genmbo.runtime.threads import computing_threads

if TYPE_CHECKING:
    from genmbo.config import GenmboConfig

_CHECKPOINT_EVERY = contextvars.ContextVar("genmbo_checkpoint_every", default=250)
# Lightning's (strategy, devices, num_nodes) for every trainer built inside `distributed_training`.
_DISTRIBUTION = contextvars.ContextVar("genmbo_distribution", default=("auto", 1, 1))


@contextlib.contextmanager
def distributed_training(
    strategy: str = "auto", devices: int | str = 1, num_nodes: int = 1
) -> Iterator[None]:
    """Trainers built inside use this Lightning strategy (e.g. "ddp"), devices per node and node count.

    Training code is the same for one process or many: data loaders shard their batches by rank
    (`genmbo.data.resumable`), and Lightning wraps the model and averages gradients.
    """
    token = _DISTRIBUTION.set((strategy, devices, num_nodes))
    try:
        yield
    finally:
        _DISTRIBUTION.reset(token)


@contextlib.contextmanager
def checkpointing_every(steps: int) -> Iterator[None]:
    """Trainers built inside save `last.ckpt` every `steps` training steps (the config's
    `run.checkpoint_every`), unless told otherwise."""
    token = _CHECKPOINT_EVERY.set(steps)
    try:
        yield
    finally:
        _CHECKPOINT_EVERY.reset(token)


@contextlib.contextmanager
def configured_run(config: GenmboConfig) -> Iterator[int]:
    """Inside, torch computes with `run.threads` threads (`genmbo.runtime.threads`; the count is what
    the block receives) and trainers follow `run.checkpoint_every` and the `distributed` section."""
    distributed = config.distributed
    with (
        computing_threads(config.run.threads) as threads,
        checkpointing_every(config.run.checkpoint_every),
        distributed_training(distributed.strategy, distributed.devices, distributed.num_nodes),
    ):
        yield threads


def distribution() -> tuple[str, int | str, int]:
    """The current (strategy, devices, num_nodes) for trainers (see `distributed_training`)."""
    return _DISTRIBUTION.get()


def several_processes() -> bool:
    """Whether trainers built now run more than one process (several devices or nodes)."""
    strategy, devices, num_nodes = _DISTRIBUTION.get()
    return (isinstance(devices, int) and devices > 1) or num_nodes > 1


def build_trainer(
    run_dir: Path,
    max_steps: int,
    checkpoint_every: int | None = None,
    progress_bar: bool = False,
    limit_val_batches: int | float = 1.0,
    inference_mode: bool = True,
    val_every_steps: int | None = None,
    callbacks: Sequence[Callback] = (),
) -> pl.Trainer:
    """A CPU-or-accelerator trainer logging CSV (and TensorBoard, if installed) to `run_dir/logs` and
    checkpointing to `run_dir`; it draws a progress bar when asked or when the command line shows
    progress. It validates after every epoch, or every `val_every_steps` training steps when given;
    `callbacks` join its own."""
    run_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_every = checkpoint_every or _CHECKPOINT_EVERY.get()
    checkpoint = ModelCheckpoint(
        dirpath=run_dir, save_last=True, save_top_k=0, every_n_train_steps=checkpoint_every
    )
    strategy, devices, num_nodes = _DISTRIBUTION.get()
    return pl.Trainer(
        max_steps=max_steps,
        accelerator="auto",
        strategy=strategy,
        devices=devices,
        num_nodes=num_nodes,
        # The resumable batch sampler already gives each process its own batches.
        use_distributed_sampler=False,
        logger=_loggers(run_dir),
        callbacks=[
            checkpoint,
            RandomStateCheckpoint(),
            GracefulInterrupt(run_dir / "last.ckpt"),
            ReclaimLentCore(),
            *callbacks,
        ],
        enable_progress_bar=progress_bar or progress_enabled(),
        enable_model_summary=False,
        limit_val_batches=limit_val_batches,
        val_check_interval=val_every_steps,
        check_val_every_n_epoch=None if val_every_steps else 1,
        num_sanity_val_steps=0,
        # At least 20 logged points per run, so short runs also leave a training curve.
        log_every_n_steps=max(1, min(50, max_steps // 20)),
        deterministic=True,
        inference_mode=inference_mode,
    )


def writes_training_logs(trainer: pl.Trainer) -> bool:
    """Whether Lightning writes the values logged in the training step now running (every
    `log_every_n_steps` steps, and the last; Lightning's own test). `self.log` costs about a millisecond
    a call, against about six for a whole step of the campaign surrogate, so a model with small steps logs
    only on these steps, and its logs hold the same rows."""
    return trainer._logger_connector.should_update_logs


class ReclaimLentCore(Callback):
    """Between training steps, takes back a core lent to background work once that work has ended
    (`genmbo.runtime.background`)."""

    def on_train_batch_end(self, *args: Any) -> None:
        reclaim_lent_core()


class RandomStateCheckpoint(Callback):
    """Saves the torch, numpy and Python RNG states in every checkpoint and restores them on resume.

    Lightning checkpoints hold weights, optimizer and loop state but not the generators that draw the
    diffusion noise, timesteps and dropout masks; without them a resumed run trains on other noise.
    States are stored as tensors and plain numbers, so checkpoints still load with ``weights_only``.
    """

    def on_save_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict
    ) -> None:
        kind, keys, position, has_gauss, cached = np.random.get_state()
        version, python_state, gauss_next = random.getstate()
        checkpoint["genmbo_rng"] = {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, cached],
            "python": list(python_state),
            "python_version": version,
            "python_gauss_next": gauss_next,
        }

    def on_load_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict
    ) -> None:
        state = checkpoint.get("genmbo_rng")
        if state is None:  # a checkpoint written before these states were saved
            return
        torch.set_rng_state(state["torch"])
        if state.get("cuda") and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])
        kind, keys, position, has_gauss, cached = state["numpy"]
        np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, cached))
        random.setstate((state["python_version"], tuple(state["python"]), state.get("python_gauss_next")))


class GracefulInterrupt(Callback):
    """Ctrl-C stops like SIGTERM, after the current step; either way `last.ckpt` is saved on the way out.

    The first Ctrl-C during training only raises Lightning's SIGTERM flag, so the step in progress
    finishes and the checkpoint is consistent; a second one interrupts at once.
    """

    def __init__(self, path: Path):
        self.path = path
        self._previous: Any = None

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        training_started()
        self._previous = signal.getsignal(signal.SIGINT)

        def request_stop(signum: int, frame: Any) -> None:
            signal.signal(signal.SIGINT, self._previous)
            trainer._signal_connector.received_sigterm = True

        signal.signal(signal.SIGINT, request_stop)

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._release()

    def _release(self) -> None:
        if self._previous is not None:
            training_stopped()
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        # Lightning skips `teardown` when training raises: release the handler and the count here too.
        self._release()
        if isinstance(exception, KeyboardInterrupt):
            user_interrupted()  # a second Ctrl-C cut a step short: keep the last periodic checkpoint
        elif isinstance(exception, SIGTERMException) and trainer.global_step > 0:
            trainer.save_checkpoint(self.path)


def _loggers(run_dir: Path) -> list[Logger]:
    # A resumed run logs beside the first one instead of overwriting its metrics.csv.
    resumes = len(list((run_dir / "logs").glob("resumed-*"))) if (run_dir / "logs").is_dir() else 0
    version = f"resumed-{resumes + 1}" if resume_path(run_dir) is not None else ""
    loggers: list[Logger] = [CSVLogger(run_dir, name="logs", version=version)]
    try:
        import tensorboard  # noqa: F401  (optional: only its presence matters)
    except ImportError:
        return loggers
    return [*loggers, TensorBoardLogger(run_dir, name="logs", version="tensorboard")]


def resume_path(run_dir: Path) -> Path | None:
    """`run_dir/last.ckpt` if an earlier run of the same command left one."""
    last = run_dir / "last.ckpt"
    return last if usable_resume_checkpoint(last) else None
