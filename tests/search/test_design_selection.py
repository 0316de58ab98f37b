"""Choosing candidates as designs: one latent per design, no offline design, values at the encodings."""

from __future__ import annotations

import pytest
import torch
from quadratic_toy import GridAutoencoder

from genmbo.models.prior import Prior
from genmbo.search.base import SearchProblem
from genmbo.search.design_selection import DesignChoice, NewDesigns
from genmbo.search.objectives import PessimisticObjective
from genmbo.spaces import ContinuousSpace, SequenceSpace


def first_coordinate(latents: torch.Tensor) -> torch.Tensor:
    return latents[:, 0]


def problem_with(autoencoder, offline_designs) -> SearchProblem:
    latents = torch.tensor(offline_designs, dtype=torch.float32)
    prior = Prior(autoencoder=autoencoder, diffusion=None)  # type: ignore[arg-type]
    return SearchProblem(latents, latents[:, 0], first_coordinate, prior, designs=offline_designs)  # type: ignore[arg-type]


def test_best_keeps_one_latent_per_new_design_valued_at_its_encoding() -> None:
    new = NewDesigns(problem_with(GridAutoencoder(), [(1.0, 0.0)]), first_coordinate)
    latents = torch.tensor([[0.1, 0.0], [0.2, 0.0], [1.0, 0.0], [2.9, 0.0], [3.1, 0.0]])
    chosen = new.best(latents, 5)
    # (3, 0) from rows 3 and 4 (tied at the design's value 3, the earlier row kept), (0, 0) from row 0;
    # (1, 0) is an offline design.
    torch.testing.assert_close(chosen.latents, latents[[3, 0]])
    torch.testing.assert_close(chosen.values, torch.tensor([3.0, 0.0]))
    # Designs taken once are not new any more.
    assert len(new.best(latents, 5)) == 0


def test_best_stops_at_count_and_skips_undecodable_rows() -> None:
    new = NewDesigns(problem_with(GridAutoencoder(undecodable_above=2.5), [(9.0, 9.0)]), first_coordinate)
    latents = torch.tensor([[3.0, 0.0], [2.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    chosen = new.best(latents, 2)
    torch.testing.assert_close(chosen.latents, latents[[1, 2]])


def test_each_ascent_gives_its_latest_iterate_with_a_new_design() -> None:
    new = NewDesigns(problem_with(GridAutoencoder(), [(1.0, 0.0)]), first_coordinate)
    # 3 iterates (oldest first) of 3 ascents: ascent 0 ends on (2, 0); ascent 1 ends on (2, 0) too, taken by
    # ascent 0, so it falls back to its first iterate, (0, 0); ascent 2 only visits the offline (1, 0).
    path = torch.tensor(
        [
            [[0.0, 0.0], [0.1, 0.0], [1.0, 0.0]],
            [[1.0, 0.0], [1.9, 0.0], [0.9, 0.0]],
            [[2.0, 0.0], [2.1, 0.0], [1.1, 0.0]],
        ]
    )
    chosen = new.last_on_paths(path)
    torch.testing.assert_close(chosen.latents, torch.tensor([[2.0, 0.0], [0.1, 0.0]]))
    torch.testing.assert_close(chosen.values, torch.tensor([2.0, 0.0]))


def test_a_problem_without_an_autoencoder_is_refused() -> None:
    problem = SearchProblem(torch.zeros(2, 2), torch.zeros(2), first_coordinate)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="autoencoder"):
        NewDesigns(problem, first_coordinate)


class BinaryStrings:
    """Strings over "AB" <-> 0/1 latents, exact except for the designs in `unreconstructed`, which decode
    to their first neighbor instead."""

    def __init__(self, unreconstructed=()):
        self.unreconstructed = set(unreconstructed)

    def encode_designs(self, designs) -> torch.Tensor:
        return torch.tensor([[float(letter == "B") for letter in design] for design in designs])

    def decode_latents(self, latents: torch.Tensor) -> list[str]:
        designs = ["".join("B" if value > 0.5 else "A" for value in row) for row in latents.tolist()]
        return [
            SPACE.neighbors(design)[0] if design in self.unreconstructed else design for design in designs
        ]


SPACE = SequenceSpace(list("AB"), length=3)


def b_count(latents: torch.Tensor) -> torch.Tensor:
    return latents.sum(dim=1)


class BCount:
    """A latent surrogate: the number of Bs, certain (std 0)."""

    def predict(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return latents.sum(dim=1), torch.zeros(latents.shape[0])


class ACount:
    """A design surrogate that prefers As (the latent objective prefers Bs), std 0.5."""

    def predict(self, designs):
        mean = torch.tensor([float(design.count("A")) for design in designs])
        return mean, torch.full_like(mean, 0.5)


def polish(
    autoencoder,
    rounds: int,
    max_neighbors: int = 100,
    starts=("BAA",),
    design_surrogate=None,
    reconstructed_only: bool = False,
    offline=("AAA",),
    within_support: bool = False,
):
    latents = torch.tensor([[0.0, 0.0, 0.0]])
    prior = Prior(autoencoder=autoencoder, diffusion=None)  # type: ignore[arg-type]
    problem = SearchProblem(
        latents,
        torch.zeros(1),
        b_count,
        prior,
        list(offline),
        SPACE,
        design_surrogate,  # type: ignore[arg-type]
    )
    new = NewDesigns(problem, PessimisticObjective(BCount(), kappa=1.0, score_scale=2.0))  # type: ignore[arg-type]
    start = new.best(autoencoder.encode_designs(list(starts)), len(starts))
    generator = torch.Generator().manual_seed(0)
    return new.polished(start, rounds, max_neighbors, generator, reconstructed_only, within_support)


def test_polishing_climbs_single_substitutions_each_design_on_its_own() -> None:
    assert polish(BinaryStrings(), 0).designs == ["BAA"]
    assert polish(BinaryStrings(), 1).designs[0] in ("BBA", "BAB")  # 2 Bs; AAA is offline
    chosen = polish(BinaryStrings(), 2)
    assert chosen.designs == ["BBB"] and chosen.values.tolist() == [1.5]  # (3 - 1 * 0) / 2
    assert BinaryStrings().decode_latents(chosen.latents) == ["BBB"]  # the latent decodes to the design
    # Two designs climb side by side: one reaches BBB, the other the best design left to it (2 Bs), and
    # neither takes the other's place.
    both = polish(BinaryStrings(), 3, starts=("BAA", "ABA"))
    assert sorted(both.values.tolist()) == [1.0, 1.5] and len(set(both.designs)) == 2


def test_polishing_reaches_designs_the_autoencoder_does_not_reconstruct_unless_told_not_to() -> None:
    autoencoder = BinaryStrings(unreconstructed={"BBB"})
    chosen = polish(autoencoder, 3)
    assert chosen.designs == ["BBB"] and chosen.values.tolist() == [1.5]
    # Its latent is its encoding, which decodes to another design: callers take the designs.
    assert chosen.latents.tolist() == [[1.0, 1.0, 1.0]]
    assert autoencoder.decode_latents(chosen.latents) == ["ABB"]
    exact = polish(autoencoder, 3, reconstructed_only=True)
    assert exact.designs[0] in ("BBA", "BAB") and exact.values.tolist() == [1.0]
    # With fewer neighbors allowed than designs, nothing moves.
    assert polish(BinaryStrings(), 2, max_neighbors=0).designs == ["BAA"]


def test_polishing_within_support_makes_no_pair_of_letters_the_offline_designs_lack() -> None:
    # The offline designs show AA, AB and BA but never BB: from BAA the climb may reach BAB (2 Bs) but not
    # BBA, ABB or BBB.
    offline = ("AAA", "ABA")
    chosen = polish(BinaryStrings(), 3, offline=offline, within_support=True)
    assert chosen.designs == ["BAB"] and chosen.values.tolist() == [1.0]
    assert polish(BinaryStrings(), 3, offline=offline).designs == ["BBB"]  # without the support


def test_sequence_support_is_the_offline_pairs_of_adjacent_tokens() -> None:
    supported = SPACE.supported(["AAB", "BAA"])
    assert supported("ABA") and supported("AAA") and not supported("ABB")
    assert ContinuousSpace(2).supported([(0.0, 0.0)])((5.0, 5.0))  # spaces without an edit: anything


def test_spaces_without_an_edit_have_no_neighbors() -> None:
    assert ContinuousSpace(2).neighbors((0.0, 1.0)) == []


def test_polishing_values_designs_with_the_design_surrogate_when_there_is_one() -> None:
    # From BBB, the A-preferring design surrogate climbs to two As (AAA is offline); values are its
    # pessimistic ones, (count - 1 * 0.5) / 2, for the start too.
    chosen = polish(BinaryStrings(), 3, starts=("BBB",), design_surrogate=ACount())
    assert chosen.designs[0].count("A") == 2 and chosen.values.tolist() == [0.75]
    assert polish(BinaryStrings(), 0, starts=("BBB",), design_surrogate=ACount()).values.tolist() == [-0.25]


def test_a_choice_splits_into_its_first_rows_and_the_rest_and_adds_back_to_itself() -> None:
    choice = DesignChoice(torch.arange(8.0).reshape(4, 2), torch.tensor([0.5, 2.0, 1.0, 3.0]), list("abcd"))
    first, rest = choice.split(1)
    assert first.designs == ["a"] and rest.designs == ["b", "c", "d"]
    assert torch.equal(rest.latents, choice.latents[1:]) and torch.equal(rest.values, choice.values[1:])
    joined = first + rest
    assert joined.designs == choice.designs and torch.equal(joined.latents, choice.latents)
    assert rest.best_first(2).designs == ["d", "b"]
