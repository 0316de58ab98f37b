"""Write a candidate library: CSV, Parquet and, for molecules, SDF, each file atomically.

Each file is written under a temporary name in the output folder and renamed into place
(`genmbo.outputs.files`), so an interrupted run leaves the previous file or the complete new one.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from genmbo.outputs.files import write_atomic

LIBRARY_STEM = "library"


def write_library(frame: pd.DataFrame, folder: Path, molecules: bool) -> dict[str, Path]:
    """Write `frame` as library.csv, library.parquet (and library.sdf for molecules); their paths."""
    paths = {"csv": folder / f"{LIBRARY_STEM}.csv", "parquet": folder / f"{LIBRARY_STEM}.parquet"}
    write_atomic(paths["csv"], lambda temporary: frame.to_csv(temporary, index=False))
    write_atomic(paths["parquet"], lambda temporary: frame.to_parquet(temporary, index=False))
    if molecules:
        paths["sdf"] = folder / f"{LIBRARY_STEM}.sdf"
        write_atomic(paths["sdf"], lambda temporary: _write_sdf(frame, temporary))
    return paths


def _write_sdf(frame: pd.DataFrame, path: Path) -> None:
    """One record per candidate: 2-D coordinates, the SMILES as title, every other column as a property."""
    from rdkit import Chem
    from rdkit.Chem import AllChem

    writer = Chem.SDWriter(str(path))
    try:
        for row in frame.itertuples(index=False):
            record = row._asdict()
            molecule = Chem.MolFromSmiles(record["design"])
            if molecule is None:  # the library holds only valid designs; keep the writer safe anyway
                continue
            AllChem.Compute2DCoords(molecule)
            molecule.SetProp("_Name", record["design"])
            for name, value in record.items():
                if name != "design" and not pd.isna(value):
                    molecule.SetProp(name, str(value))
            writer.write(molecule)
    finally:
        writer.close()
