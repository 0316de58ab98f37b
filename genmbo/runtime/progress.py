"""Progress bars for the command line, silent in library use and tests.

The command line turns them on for one run (`showing_progress`); every long loop wraps its iterable in
`track`, and every Lightning trainer asks `progress_enabled` whether to draw its own bar. A context
variable rather than a parameter, so the models' training functions need no extra argument.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_ENABLED = contextvars.ContextVar("genmbo_progress", default=False)


def progress_enabled() -> bool:
    return _ENABLED.get()


@contextlib.contextmanager
def showing_progress(enabled: bool = True) -> Iterator[None]:
    token = _ENABLED.set(enabled)
    try:
        yield
    finally:
        _ENABLED.reset(token)


def silence_progress() -> None:
    """Turn the bars off for the rest of this thread: a worker process's bars would draw over its parent's."""
    _ENABLED.set(False)


def track(iterable: Iterable[T], description: str, total: int | None = None) -> Iterable[T]:
    """`iterable`, drawn as a tqdm bar on stderr while progress is enabled."""
    if not progress_enabled():
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=description, total=total, file=sys.stderr, leave=False, dynamic_ncols=True)
