"""genmbo: offline model-based optimization with generative models.

From a static dataset of designs (molecules, biological sequences, real vectors) and their measured
scores, genmbo proposes new candidates that should score higher, stay realistic, and be novel and diverse.
`genmbo.design` runs a campaign from Python (`genmbo.api`); the `genmbo` command does it from a shell.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["design", "load_config"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so that `genmbo --help` and `import genmbo` stay fast (no torch, no RDKit).
    if name == "design":
        from genmbo.api import design

        return design
    if name == "load_config":
        from genmbo.config import load_config

        return load_config
    raise AttributeError(f"module 'genmbo' has no attribute {name!r}")
