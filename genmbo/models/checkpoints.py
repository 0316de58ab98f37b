"""Loading checkpoints safely: weights and plain values only, and one clear line when a file is wrong.

Every checkpoint is read with ``torch.load(..., weights_only=True)`` (through Lightning's
`load_from_checkpoint`), whose unpickler builds tensors, containers and numbers but no other object, so a
file carrying a pickled code payload is refused instead of executed (PyTorch's "weights only" loading,
see the `torch.load` documentation's security note). A truncated or foreign file is reported as such.
"""

from __future__ import annotations

import pickle
import sys
import zipfile
from pathlib import Path
from typing import TypeVar

import pytorch_lightning as pl
import torch

from genmbo.errors import GenmboError

ModuleT = TypeVar("ModuleT", bound=pl.LightningModule)
# What a damaged or foreign checkpoint raises while being read or rebuilt.
_READ_ERRORS = (
    RuntimeError,
    EOFError,
    zipfile.BadZipFile,
    KeyError,
    TypeError,
    ValueError,
    AttributeError,
    OSError,
)


def save_weights(model: pl.LightningModule, path: Path) -> None:
    """Save weights and hyperparameters only, no optimizer state: all `load_module` needs."""
    checkpoint = {
        "state_dict": model.state_dict(),
        "hyper_parameters": dict(model.hparams),
        "pytorch-lightning_version": pl.__version__,
    }
    torch.save(checkpoint, path)


def load_module(
    module_class: type[ModuleT], path: str | Path, what: str, latent_dim: int | None = None
) -> ModuleT:
    """`module_class.load_from_checkpoint(path)` on CPU, weights only, in eval mode; `GenmboError` if the
    file is missing, carries pickled objects, is not a readable checkpoint of `what`, or (when
    `latent_dim` is given) models latents of another dimension."""
    path = Path(path)
    if not path.is_file():
        raise GenmboError(f"{path}: no such checkpoint")
    try:
        model = module_class.load_from_checkpoint(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise GenmboError(
            f"{path}: refused: the checkpoint holds pickled Python objects, not only weights "
            "(genmbo loads checkpoints with weights_only=True)"
        ) from None
    except _READ_ERRORS as error:
        raise GenmboError(f"{path}: not a readable {what} checkpoint ({_first_line(error)})") from None
    if latent_dim is not None and model.latent_dim != latent_dim:
        raise GenmboError(f"{path}: a {what} of {model.latent_dim}-d latents, not {latent_dim}-d")
    return model.eval()


def usable_resume_checkpoint(path: Path) -> bool:
    """Whether `path` (a training run's `last.ckpt`) reads back; a damaged one, left by a run killed while
    writing it, is moved aside to `last.ckpt.damaged` and training restarts from the beginning."""
    if not path.is_file():
        return False
    try:
        torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, *_READ_ERRORS) as error:
        damaged = path.with_name(path.name + ".damaged")
        path.replace(damaged)
        reason = _first_line(error)
        print(
            f"genmbo: {path} cannot be read ({reason}); moved to {damaged.name}, training restarts",
            file=sys.stderr,
        )
        return False
    return True


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:160]
