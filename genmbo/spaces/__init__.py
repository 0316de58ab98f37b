"""Design spaces: how designs become tensors and back."""

from genmbo.spaces.base import DesignSpace, space_from_dict
from genmbo.spaces.continuous import ContinuousSpace
from genmbo.spaces.molecules import MoleculeSpace
from genmbo.spaces.sequences import SequenceSpace

SPACE_KINDS = ("molecules", "sequence", "continuous")

__all__ = [
    "SPACE_KINDS",
    "ContinuousSpace",
    "DesignSpace",
    "MoleculeSpace",
    "SequenceSpace",
    "space_from_dict",
]
