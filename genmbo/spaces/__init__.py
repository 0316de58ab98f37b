"""Design spaces: how designs become tensors and back."""

from typing import Literal, get_args

from genmbo.spaces.base import DesignSpace, space_from_dict
from genmbo.spaces.continuous import ContinuousSpace
from genmbo.spaces.molecules import MoleculeSpace
from genmbo.spaces.sequences import SequenceSpace

# The kinds of design space a user names (`--space`, the step-size policy's `spaces`).
SpaceKind = Literal["molecules", "sequence", "continuous"]
SPACE_KINDS: tuple[str, ...] = get_args(SpaceKind)

__all__ = [
    "SPACE_KINDS",
    "ContinuousSpace",
    "DesignSpace",
    "MoleculeSpace",
    "SequenceSpace",
    "SpaceKind",
    "space_from_dict",
]
