"""Which decoded designs may enter a library: every reason counted, each admitted design claimed once."""

from __future__ import annotations

from genmbo.config import ConstraintsConfig
from genmbo.selection.constraints import DesignFilter
from genmbo.selection.filtering import NewDesigns
from genmbo.spaces import SequenceSpace

SPACE = SequenceSpace(list("AB"), length=3)


def new_designs(exclude_offline: bool = True) -> NewDesigns:
    return NewDesigns(SPACE, ["AAA"], DesignFilter(SPACE, ConstraintsConfig()), exclude_offline)


def test_the_filter_drops_each_design_for_one_named_reason() -> None:
    kept, dropped = new_designs().filter(["ABA", None, "AAA", "ABA", "ABC", "BBB", "AB"])
    assert kept == [0, 5]
    assert dropped["undecodable"] == 1
    assert dropped["already in the offline data"] == 1
    assert dropped["repeat within the pool"] == 1
    assert sum(count for reason, count in dropped.items() if reason.startswith("invalid")) == 2


def test_offline_designs_pass_when_a_method_proposes_them_on_purpose() -> None:
    new = new_designs(exclude_offline=False)
    assert new.admits("AAA") and not new.admits("AAA")  # admitted once: then it is taken


def test_a_design_is_parsed_once_however_often_it_is_asked_about(monkeypatch) -> None:
    new = new_designs()
    parsed = []
    parse = SPACE.parse
    monkeypatch.setattr(SPACE, "parse", lambda design: parsed.append(design) or parse(design))
    assert new.invalid("ABA") is None and new.invalid("ABA") is None and new.admits("ABA")
    assert new.invalid("ABC") is not None and new.invalid("ABC") is not None
    assert parsed == ["ABA", "ABC", "ABC"]  # an invalid design is asked about again, a valid one is not
