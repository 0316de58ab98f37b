import pytest

from genmbo.errors import GenmboError
from genmbo.tasks import get_task, task_names


def test_listed_names_include_every_family():
    names = task_names()
    assert "tfbind8" in names and "moses-qed" in names and "ackley-32" in names
    assert any(name.startswith("ehrlich-") for name in names)
    assert len(names) == len(set(names))


def test_patterns_build_other_sizes():
    assert get_task("rosenbrock-7").space.dim == 7
    assert get_task("ehrlich").name == "ehrlich-s20-d32-m2-l4-q4"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("tfbind9", "unknown task 'tfbind9' (did you mean 'tfbind8'?)"),
        ("nonsense", "unknown task 'nonsense'"),
    ],
)
def test_unknown_names(name, message):
    with pytest.raises(
        GenmboError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")
    ):
        get_task(name)
