"""A content-addressed cache for costly, deterministic results about large design sets.

A result is filed under the SHA-256 of everything it depends on (`content_key`: the designs themselves,
the parameters, a version of the computation), so a changed input misses and is computed afresh; nothing
is looked up by file name or date. An entry holds its key and the SHA-256 of its payload, and is used
only when both match and its shape passes the caller's check; otherwise (a truncated write, another
version's file, a collision of names) it is recomputed and rewritten. Writes go to a temporary file that
is renamed into place, so a reader never sees half an entry.

The folder is ``$GENMBO_CACHE_DIR`` when set (``off`` disables the cache), else
``$XDG_CACHE_HOME/genmbo``, else ``~/.cache/genmbo``. Deleting it is always safe.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

ENVIRONMENT_VARIABLE = "GENMBO_CACHE_DIR"


def cache_folder() -> Path | None:
    """Where entries live, or None when the cache is off."""
    chosen = os.environ.get(ENVIRONMENT_VARIABLE)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "genmbo"


def content_key(*parts: Any) -> str:
    """The SHA-256 hex digest of `parts`: strings, numbers, arrays, and lists or tuples of them, each
    framed with its type and length so that different sequences of parts never hash alike."""
    digest = hashlib.sha256()
    for part in parts:
        _feed(digest, part)
    return digest.hexdigest()


def _feed(digest: Any, part: Any) -> None:
    if isinstance(part, list | tuple):
        digest.update(f"seq:{len(part)};".encode())
        for item in part:
            _feed(digest, item)
        return
    if isinstance(part, np.ndarray):
        data = np.ascontiguousarray(part).tobytes()
        digest.update(f"array:{part.dtype.str}:{part.shape}:{len(data)};".encode())
        digest.update(data)
        return
    text = repr(part) if not isinstance(part, str) else part
    data = text.encode()
    digest.update(f"{type(part).__name__}:{len(data)};".encode())
    digest.update(data)


def _payload_digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def cached_array(
    kind: str,
    key: str,
    compute: Callable[[], np.ndarray],
    valid: Callable[[np.ndarray], bool] = lambda array: True,
) -> np.ndarray:
    """The array filed under `kind`/`key`, computing (and filing) it with `compute` when there is no
    entry, or the entry fails its checks (key, payload digest, `valid`)."""
    folder = cache_folder()
    if folder is None:
        return compute()
    path = folder / kind / f"{key}.npz"
    stored = _read(path, key)
    if stored is not None and valid(stored):
        return stored
    array = compute()
    _write(path, key, array)
    return array


def _read(path: Path, key: str) -> np.ndarray | None:
    try:
        with np.load(path, allow_pickle=False) as entry:
            if str(entry["key"]) != key:
                return None
            array = entry["value"]
            return array if str(entry["digest"]) == _payload_digest(array) else None
    except (OSError, KeyError, ValueError, EOFError):  # missing, truncated or not an entry
        return None


def _write(path: Path, key: str, array: np.ndarray) -> None:
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(handle, "wb") as file:
            np.savez(file, key=np.array(key), digest=np.array(_payload_digest(array)), value=array)
        os.replace(temporary, path)
        temporary = None
    except OSError:  # a read-only or full disk costs the next run the computation, nothing else
        return
    finally:
        if temporary is not None and os.path.exists(temporary):
            os.remove(temporary)


def design_texts(designs: Iterable[Any]) -> list[str]:
    """Designs as text for `content_key` (canonical designs of a space format the same every time)."""
    return [design if isinstance(design, str) else repr(design) for design in designs]
