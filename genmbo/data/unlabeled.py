"""Read unmeasured designs (`--unlabeled FILE`): a vendor catalogue, a family of homologous sequences, an
enumerated library. They train the prior beside the labeled rows (`OfflineDataset.unlabeled`).

Formats: a CSV/TSV/Parquet table (the design column named as for the labeled data, else its only
column), a `.npy` array of vectors, or plain text with one design per line (`.smi`, `.txt`, a `.fasta`
whose `>` headers and line breaks are read as FASTA). The space is built from the labeled rows and
these together (`genmbo.data.loading.load_offline_dataset`: an inferred alphabet has their letters too);
rows it rejects are skipped and counted by reason, duplicates and designs already labeled are counted
and dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from genmbo.data.cleaning import parsed_rows
from genmbo.data.offline import CleaningReport, OfflineDataset
from genmbo.data.reading import read_frame, resolve_design_columns, table_format
from genmbo.errors import DataError

TEXT_SUFFIXES = (".smi", ".smiles", ".txt", ".fasta", ".fa", ".faa", ".seq")


def read_unlabeled(path: str | Path, design_columns: Sequence[str] | str | None) -> list[Any]:
    """The raw designs of `path`, row for row (see the module docstring for the formats)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file" if not path.exists() else f"{path}: is a folder")
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        lines = [line.strip() for line in path.read_text().splitlines()]
        if suffix in (".fasta", ".fa", ".faa") or any(line.startswith(">") for line in lines[:1]):
            return _fasta_records(lines)
        # A SMILES file may carry a name after the design: the first field is the design.
        return [line.split()[0] for line in lines if line and not line.startswith("#")]
    kind = table_format(path)
    if kind == "npy":
        return np.load(path, allow_pickle=False).tolist()
    frame = read_frame(path, kind)
    columns = [design_columns] if isinstance(design_columns, str) else list(design_columns or [])
    if not columns:
        if frame.shape[1] != 1:
            raise DataError(f"{path}: name the design column (columns: {', '.join(map(str, frame.columns))})")
        columns = [frame.columns[0]]
    columns = resolve_design_columns(frame, columns if len(columns) > 1 else columns[0], path)
    if len(columns) == 1:
        return frame[columns[0]].tolist()
    return frame[columns].to_numpy(dtype=np.float64).tolist()


def _fasta_records(lines: list[str]) -> list[str]:
    records: list[str] = []
    current: list[str] | None = None
    for line in lines:
        if line.startswith(">"):
            if current is not None:
                records.append("".join(current))
            current = []
        elif line and current is not None:
            current.append(line)
    if current is not None:
        records.append("".join(current))
    return records


def add_unlabeled(dataset: OfflineDataset, raw_designs: list[Any], source: str) -> CleaningReport:
    """Parse `raw_designs` in the dataset's space into `dataset.unlabeled`, the counts into
    `dataset.report.unlabeled` (so `cleaning.json` has them), and return those counts."""
    report = CleaningReport(rows_read=len(raw_designs))
    space = dataset.space
    seen = {space.key(design) for design in dataset.designs}
    kept: list[Any] = []
    for _, design, key in parsed_rows(enumerate(raw_designs), space, report):
        if key in seen:
            report.duplicates_merged += 1  # a repeat, or a design the labeled data has measured
            continue
        seen.add(key)
        kept.append(design)
    if raw_designs and not kept and report.rows_skipped == len(raw_designs):
        raise DataError(f"{source}: no usable design in the unlabeled file ({report.skip_reasons()})")
    report.rows_kept = len(kept)
    dataset.unlabeled = kept
    dataset.report.unlabeled = report
    return report
