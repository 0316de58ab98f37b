"""Polishing: each design climbs its single substitutions, within the offline support, valued by the one
model that values designs; and that model's rules."""

from __future__ import annotations

import pytest
import torch

from genmbo.config import ConstraintsConfig
from genmbo.selection.constraints import DesignFilter
from genmbo.selection.filtering import NewDesigns
from genmbo.selection.polishing import polish
from genmbo.selection.valuing import DesignValues
from genmbo.spaces import ContinuousSpace, SequenceSpace

SPACE = SequenceSpace(list("AB"), length=3)


class BinaryStrings:
    """Strings over "AB" <-> 0/1 latents."""

    def encode_designs(self, designs) -> torch.Tensor:
        return torch.tensor([[float(letter == "B") for letter in design] for design in designs])

    def decode_latents(self, latents: torch.Tensor) -> list[str]:
        return ["".join("B" if value > 0.5 else "A" for value in row) for row in latents.tolist()]


class BCount:
    """A latent surrogate: the number of Bs, certain (std 0)."""

    def predict(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return latents.sum(dim=1), torch.zeros(latents.shape[0])


class ACount:
    """A design surrogate that prefers As (the latent surrogate prefers Bs), std 0.5."""

    def predict(self, designs):
        mean = torch.tensor([float(design.count("A")) for design in designs])
        return mean, torch.full_like(mean, 0.5)


def values_with(design_surrogate=None, measured=None) -> DesignValues:
    return DesignValues(SPACE, BinaryStrings(), BCount(), design_surrogate, measured or {}, kappa=1.0)


def polished(rounds: int, starts=("BAA",), offline=("AAA", "ABB", "BBA"), values=None) -> list[str]:
    """Polished `starts`; the default offline designs show every pair of adjacent letters."""
    new = NewDesigns(SPACE, list(offline), DesignFilter(SPACE, ConstraintsConfig()))
    for design in starts:
        assert new.admits(design)
    values = values or values_with()
    return polish(list(starts), rounds, SPACE, list(offline), values, new, torch.Generator().manual_seed(0))


def test_polishing_climbs_single_substitutions_each_design_on_its_own() -> None:
    assert polished(0) == ["BAA"]
    assert polished(1) == ["BAB"]  # 2 Bs in one edit (BBA is offline)
    assert polished(2) == ["BBB"]
    # Two designs climb side by side, neither taking the other's place: AAB's one better neighbor BAB
    # was claimed by BAA first, so it stays, and BAA climbs on.
    assert polished(3, starts=("BAA", "AAB")) == ["BBB", "AAB"]


def test_polishing_within_support_makes_no_pair_of_letters_the_offline_designs_lack() -> None:
    # The offline designs show AA, AB and BA but never BB: from BAA the climb reaches BAB (2 Bs), not
    # BBA, ABB or BBB.
    assert polished(3, offline=("AAA", "ABA")) == ["BAB"]


def test_polishing_follows_the_design_surrogate_when_there_is_one() -> None:
    # From BBB the A-preferring design surrogate climbs to two As (AAA is offline).
    assert polished(3, starts=("BBB",), values=values_with(ACount()))[0].count("A") == 2


def test_designs_are_valued_by_the_design_surrogate_else_at_their_encodings_measured_ones_as_measured() -> (
    None
):
    mean, std = values_with().predict(["BAB", "AAA"])
    assert mean.tolist() == [2.0, 0.0] and std.tolist() == [0.0, 0.0]
    values = values_with(ACount(), measured={"AAA": 7.0})
    mean, std = values.predict(["BAB", "AAA"])
    assert mean.tolist() == [1.0, 7.0] and std.tolist() == [0.5, 0.0]
    assert values.acquisition(mean, std).tolist() == pytest.approx([0.5, 7.0])


def test_sequence_support_is_the_offline_pairs_of_adjacent_tokens() -> None:
    supported = SPACE.supported(["AAB", "BAA"])
    assert supported("ABA") and supported("AAA") and not supported("ABB")
    assert ContinuousSpace(2).supported([(0.0, 0.0)])((5.0, 5.0))  # spaces without an edit: anything
    assert ContinuousSpace(2).neighbors((0.0, 1.0)) == []
