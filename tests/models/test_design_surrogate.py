"""The design surrogate: one-hot features of fixed-length sequences, trained like the latent surrogate."""

from __future__ import annotations

import numpy as np
import torch

from genmbo.config import SurrogateConfig
from genmbo.data.offline import OfflineDataset
from genmbo.models.design_surrogate import fit_design_surrogate, has_design_features, one_hot_features
from genmbo.spaces import ContinuousSpace, MoleculeSpace, SequenceSpace

TINY = SurrogateConfig(members=2, hidden_dims=[32], max_steps=150, batch_size=32)


def test_features_are_one_hot_tokens_position_by_position() -> None:
    space = SequenceSpace(list("ACGT"), length=2)
    features = one_hot_features(space, ["AC", "TT"])
    expected = torch.tensor([[1, 0, 0, 0, 0, 1, 0, 0], [0, 0, 0, 1, 0, 0, 0, 1]], dtype=torch.float32)
    torch.testing.assert_close(features, expected)
    assert has_design_features(space)
    assert not has_design_features(SequenceSpace(list("ACGT"), max_length=5))  # variable length
    assert not has_design_features(MoleculeSpace()) and not has_design_features(ContinuousSpace(2))
    assert not has_design_features(None)


def test_a_design_surrogate_learns_a_per_position_score(tmp_path) -> None:
    rng = np.random.default_rng(0)
    designs = sorted({"".join(rng.choice(list("ACGT"), 4)) for _ in range(300)})
    scores = np.array([design.count("G") for design in designs], dtype=np.float64)
    space = SequenceSpace(list("ACGT"), length=4)
    dataset = OfflineDataset(space, designs, scores)
    fitted = fit_design_surrogate(dataset, TINY, tmp_path / "designs", seed=0)
    assert (tmp_path / "designs" / "surrogate.ckpt").is_file()
    mean, std = fitted.predict(["GGGG", "GGGA", "AAAA"])
    assert mean[0] > mean[1] > mean[2] and (std >= 0).all()
    continuous = OfflineDataset(ContinuousSpace(2), [(0.0, 1.0), (1.0, 0.0)], np.array([0.0, 1.0]))
    assert fit_design_surrogate(continuous, TINY, tmp_path / "none") is None
