"""Report pieces: molecule drawings embedded as SVG, and a text fallback where RDKit cannot draw."""

import sys

from genmbo.outputs.report import _molecule_grid


def test_molecule_grid_is_an_embedded_svg():
    html = _molecule_grid(["CCO", "c1ccccc1"], ["#1", "#2"])
    assert html.count("data:image/svg+xml;base64,") == 1


def test_molecule_grid_falls_back_to_text_without_drawing_libraries(monkeypatch):
    import rdkit.Chem

    # The import now fails, as on a machine without libXrender.
    monkeypatch.delattr(rdkit.Chem, "Draw", raising=False)
    monkeypatch.setitem(sys.modules, "rdkit.Chem.Draw", None)
    html = _molecule_grid(["CCO", "c1ccccc1"], ["#1", "#2"])
    assert "Molecule drawings unavailable here" in html and "c1ccccc1" in html and "data:image" not in html
