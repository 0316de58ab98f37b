"""Cached encodings: read back on a second call, recomputed when the weights or the designs change."""

import pytest
import torch

from genmbo.models import encoding_cache
from genmbo.models.encoding_cache import encode_designs_cached, weights_digest
from genmbo.models.sequence_vae import SequenceVAE
from genmbo.spaces import SequenceSpace


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENMBO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(encoding_cache, "CACHE_MIN_DESIGNS", 1)  # tiny sets use the cache here
    return tmp_path / "cache"


def counted(model):
    calls = []
    encode = model.encode_designs

    def counting(designs):
        calls.append(len(designs))
        return encode(designs)

    model.encode_designs = counting
    return calls


def tiny_vae(seed=0):
    torch.manual_seed(seed)
    space = SequenceSpace("ACGT", length=6)
    return SequenceVAE(space, latent_dim=3, hidden_dim=8, embedding_dim=4).eval()


def test_second_call_reads_the_cache_and_changes_miss(cache, monkeypatch):
    model = tiny_vae()
    calls = counted(model)
    designs = ["ACGTAC", "GGGTTT", "ACACAC"]
    first = encode_designs_cached(model, designs)
    second = encode_designs_cached(model, designs)
    assert calls == [3] and torch.equal(first, second)
    torch.testing.assert_close(first, model.encoder(model.space.encode(designs))[0].detach())
    assert any((cache / "latents").iterdir())
    encode_designs_cached(model, designs[:2])  # other designs: computed
    assert calls == [3, 2]
    before = weights_digest(model)
    with torch.no_grad():
        next(model.parameters()).add_(1.0)  # changed weights: a new key
    assert weights_digest(model) != before
    changed = encode_designs_cached(model, designs)
    assert calls == [3, 2, 3] and not torch.equal(changed, first)
    monkeypatch.setattr(encoding_cache, "ENCODING_VERSION", encoding_cache.ENCODING_VERSION + 1)
    encode_designs_cached(model, designs)  # the same weights encoding another way: computed
    assert calls == [3, 2, 3, 3]


def test_small_sets_and_a_disabled_cache_always_compute(tmp_path, monkeypatch):
    monkeypatch.setenv("GENMBO_CACHE_DIR", "off")
    model = tiny_vae()
    calls = counted(model)
    encode_designs_cached(model, ["ACGTAC"])
    encode_designs_cached(model, ["ACGTAC"])
    assert calls == [1, 1]
