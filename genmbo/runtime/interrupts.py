"""How a run stops when asked to: SIGTERM outside training raises `Terminated`; inside training Lightning's
own handler finishes the current step first (see `genmbo.models.training.GracefulInterrupt`).

Kept free of heavy imports: the command line installs the handler before torch is loaded.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

_trainers_running = 0
_user_interrupted = False


class Terminated(Exception):
    """SIGTERM arrived outside training; everything trained so far is already saved."""


def training_started() -> None:
    global _trainers_running
    _trainers_running += 1


def training_stopped() -> None:
    global _trainers_running
    _trainers_running = max(0, _trainers_running - 1)


def user_interrupted() -> None:
    """Lightning caught a KeyboardInterrupt (it then exits with `sys.exit(1)`)."""
    global _user_interrupted
    _user_interrupted = True


def was_user_interrupted() -> bool:
    return _user_interrupted


def _on_sigterm(signum: int, frame: Any) -> None:
    # During training Lightning's handler (which calls this one too) stops after the current step and
    # the checkpoint callback saves; raising here would cut the step in half.
    if _trainers_running == 0:
        raise Terminated()


def install_sigterm_handler() -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
