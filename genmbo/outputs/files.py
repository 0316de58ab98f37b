"""Writing a run's outputs: an output folder that is really a folder, and files written atomically.

Every file is written to a temporary name in the same folder and renamed into place, so an interrupted
run never leaves a truncated `metrics.json`: readers see the old file or the new one, nothing between.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from genmbo.errors import GenmboError


def prepare_output_folder(path: str | Path) -> Path:
    """Create `path` (and parents) or fail with one line if it is a file or cannot be written."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise GenmboError(f"{folder}: the output folder is a file")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise GenmboError(f"{folder}: cannot create the output folder ({error.strerror})") from None
    if not os.access(folder, os.W_OK):
        raise GenmboError(f"{folder}: the output folder is not writable")
    return folder


def shareable(path: str | Path) -> None:
    """Give a file the permissions a plain `open` would (mkstemp makes its files private, 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write` on a temporary file beside `path` (any writer: text, pandas, RDKit, `torch.save`),
    flush it to disk, then rename it into place; on failure the temporary file is removed."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(descriptor)
    try:
        write(Path(temporary))
        with open(temporary, "rb+") as handle:  # on disk before the rename
            os.fsync(handle.fileno())
        shareable(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, lambda temporary: temporary.write_text(text))


def write_json(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def write_yaml(path: Path, data: Any) -> None:
    write_text_atomic(path, yaml.safe_dump(data, sort_keys=False))
