"""The content-addressed cache: used on a second run, refreshed when its input changes, never trusted
when an entry fails its checks."""

import numpy as np
import pytest

from genmbo.metrics import design_distance
from genmbo.runtime.cache import cache_folder, cached_array, content_key
from genmbo.spaces import MoleculeSpace


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENMBO_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def counting(value):
    calls = []

    def compute():
        calls.append(1)
        return value

    return compute, calls


def test_a_second_call_reads_the_entry_and_a_changed_input_misses(cache):
    compute, calls = counting(np.arange(6).reshape(2, 3))
    key = content_key("kind", ["CCO", "c1ccccc1"], 2)
    first = cached_array("toy", key, compute)
    second = cached_array("toy", key, compute)
    assert calls == [1] and np.array_equal(first, second)
    assert content_key("kind", ["CCO", "c1ccccc1"], 3) != key  # a parameter is part of the key
    assert content_key("kind", ["CCO", "c1ccccc"], 2) != key  # so is every design
    assert content_key("kind", ["CCOc1ccccc1"], 2) != key  # and the split into designs
    cached_array("toy", content_key("kind", ["CCO"], 2), compute)
    assert calls == [1, 1]


def test_a_corrupt_or_mismatched_entry_is_recomputed(cache):
    compute, calls = counting(np.ones((3, 2)))
    key = content_key("x")
    cached_array("toy", key, compute)
    (cache / "toy" / f"{key}.npz").write_bytes(b"not an entry")
    assert np.array_equal(cached_array("toy", key, compute), np.ones((3, 2))) and len(calls) == 2
    # an entry whose shape the caller rejects is not used either
    cached_array("toy", key, compute, valid=lambda array: array.shape == (4, 2))
    assert len(calls) == 3


def test_the_cache_can_be_turned_off(monkeypatch, tmp_path):
    monkeypatch.setenv("GENMBO_CACHE_DIR", "off")
    assert cache_folder() is None
    compute, calls = counting(np.zeros(1))
    cached_array("toy", "k", compute)
    cached_array("toy", "k", compute)
    assert len(calls) == 2


def test_offline_fingerprints_are_cached_and_equal_the_computed_ones(cache, monkeypatch):
    monkeypatch.setattr(design_distance, "CACHE_MIN_MOLECULES", 2)
    space = MoleculeSpace()
    designs = [space.parse(smiles) for smiles in ("CCO", "c1ccccc1", "CC(=O)O")]
    computed = design_distance.design_features(space, designs)
    first = design_distance.offline_design_features(space, designs)
    assert len(list((cache / "fingerprints").glob("*.npz"))) == 1
    calls = []
    real = design_distance.design_features
    monkeypatch.setattr(design_distance, "design_features", lambda *a: calls.append(1) or real(*a))
    second = design_distance.offline_design_features(space, designs)
    assert calls == [] and first.equal(computed) and second.equal(computed) and second.dtype == computed.dtype
    design_distance.offline_design_features(space, designs[:2])  # another set: computed and filed
    assert calls == [1] and len(list((cache / "fingerprints").glob("*.npz"))) == 2
