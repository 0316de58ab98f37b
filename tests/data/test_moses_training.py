import gzip
import zipfile

import pytest

from genmbo.data import moses_training
from genmbo.data.moses_training import (
    HELD_OUT_MOLECULES,
    MOSES_TRAIN_MEMBER,
    full_moses_training_smiles,
    read_moses_wheel,
    subset_split,
    training_molecules,
)
from genmbo.resources import moses_subset_smiles


def test_subset_split_is_seeded_and_disjoint():
    training, held_out = subset_split(0)
    assert len(held_out) == HELD_OUT_MOLECULES
    assert len(training) + len(held_out) == len(moses_subset_smiles())
    assert not set(training) & set(held_out)
    assert subset_split(0)[1] == held_out and subset_split(1)[1] != held_out


def _wheel(path, rows: list[str]):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(MOSES_TRAIN_MEMBER, gzip.compress(("SMILES\n" + "\n".join(rows) + "\n").encode()))
    return path


def test_full_training_set_is_canonical_deduplicated_and_without_held_out_molecules(tmp_path, monkeypatch):
    held_out = subset_split(0)[1]
    rows = ["OCC", "CCO", "c1ccccc1", "not a molecule", held_out[0], "CC[Si](C)(C)C"]
    wheel = _wheel(tmp_path / "molsets.whl", rows)
    assert read_moses_wheel(wheel) == rows

    training = full_moses_training_smiles(wheel, tmp_path / "cache", processes=1)
    # Ethanol once (two spellings), benzene; the held-out molecule, the unparseable row and the silicon
    # compound (outside the shipped SELFIES vocabulary) are gone.
    assert training == ["CCO", "c1ccccc1"]

    # A second call reads the cache instead of parsing again.
    monkeypatch.setattr(moses_training, "_accepted", lambda smiles: pytest.fail("parsed again"))
    assert full_moses_training_smiles(wheel, tmp_path / "cache", processes=1) == training


def test_a_wheel_without_the_moses_header_is_refused(tmp_path):
    wheel = tmp_path / "other.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(MOSES_TRAIN_MEMBER, gzip.compress(b"smiles,score\nCCO,1\n"))
    with pytest.raises(ValueError, match="unexpected header"):
        read_moses_wheel(wheel)


def test_held_out_molecules_are_removed_whatever_their_stored_spelling(tmp_path, monkeypatch):
    # A held-out list written by another RDKit may spell a molecule differently from the running one.
    monkeypatch.setattr(moses_training, "subset_split", lambda seed: ([], ["OCC"]))
    wheel = _wheel(tmp_path / "molsets.whl", ["CCO", "c1ccccc1"])
    assert full_moses_training_smiles(wheel, tmp_path / "cache", processes=1) == ["c1ccccc1"]
    assert [path.name.endswith(".txt.gz") for path in (tmp_path / "cache").iterdir()] == [True]


def test_training_molecules_are_the_subset_or_the_wheel(tmp_path):
    assert training_molecules(1) == subset_split(1)[0]
    wheel = _wheel(tmp_path / "molsets.whl", ["CCO"])
    assert training_molecules(0, wheel, tmp_path / "cache") == ["CCO"]
    with pytest.raises(ValueError, match="cache_dir"):
        training_molecules(0, wheel)
