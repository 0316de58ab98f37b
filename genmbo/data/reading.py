"""Read a user's table of designs and scores from CSV, Parquet or a pair of `.npy` files.

Every whole-file problem becomes one `DataError` line naming the file and what is wrong; row problems
are left to `genmbo.data.cleaning`, which skips and counts them.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from genmbo.errors import DataError

TABLE_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet", ".npy": "npy"}


@dataclass
class RawTable:
    """Designs exactly as read (strings, or rows of numbers) and their raw scores, row for row: `n`
    values, or `n x m` for several objectives (`score_names` then names the columns)."""

    designs: list[Any]
    scores: np.ndarray
    source: str
    score_names: tuple[str, ...] = ()


def table_format(path: Path) -> str:
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bz2", ".zip", ".xz"):
        suffixes = suffixes[:-1]
    if not suffixes or suffixes[-1] not in TABLE_SUFFIXES:
        known = ", ".join(sorted(TABLE_SUFFIXES))
        raise DataError(
            f"{path}: unknown data format {''.join(path.suffixes) or '(no suffix)'!r}; use one of {known}"
        )
    return TABLE_SUFFIXES[suffixes[-1]]


def split_pair(data: str | Path) -> tuple[Path, Path | None]:
    """`x.npy,y.npy` names a pair of arrays; anything else is a single table."""
    text = str(data)
    if "," in text:
        design_path, score_path = (part.strip() for part in text.split(",", 1))
        return Path(design_path), Path(score_path)
    return Path(text), None


def read_table(
    data: str | Path,
    design_columns: Sequence[str] | str | None,
    score_column: str | Sequence[str] | None,
    score_path: str | Path | None = None,
) -> RawTable:
    """Read designs and scores.

    Args:
        data: a `.csv`/`.tsv` (optionally compressed), `.parquet` file, or a designs `.npy` file (then
            `score_path`, or the form ``"x.npy,y.npy"``, names the scores array).
        design_columns: one column holding a design per row, or several numeric columns forming a vector,
            or a single prefix such as ``"x"`` that selects ``x0, x1, ...`` (tables only).
        score_column: the column of measured scores, or a list of objective columns (tables only).
    """
    path, paired = split_pair(data)
    score_path = Path(score_path) if score_path is not None else paired
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a data file")
    kind = table_format(path)
    if kind == "npy":
        if score_column is not None and not isinstance(score_column, str):
            raise DataError(f"{path}: several objectives need a table (CSV or Parquet) with their columns")
        return _read_npy_pair(path, score_path)
    frame = read_frame(path, kind)
    if design_columns is None or score_column is None:
        raise DataError(
            f"{path}: name the design column(s) and the score column (columns: {_listing(frame)})"
        )
    columns = resolve_design_columns(frame, design_columns, path)
    score_names = [score_column] if isinstance(score_column, str) else list(score_column)
    for name in score_names:
        require_column(frame, name, path)
    scores = frame[score_names].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    if len(columns) == 1:
        designs = frame[columns[0]].tolist()
    else:
        designs = frame[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64).tolist()
    if isinstance(score_column, str):
        return RawTable(designs, scores[:, 0], str(path))
    return RawTable(designs, scores, str(path), tuple(score_names))


def read_frame(path: Path, kind: str) -> pd.DataFrame:
    try:
        if kind == "parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, sep="\t" if kind == "tsv" else ",")
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text {kind.upper()} file (binary content)") from None
    except Exception as error:  # pandas and pyarrow raise many types for malformed files
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataError(f"{path}: cannot read as {kind.upper()}: {first_line}") from None
    if frame.empty:
        raise DataError(f"{path}: no data rows")
    frame.columns = [str(column) for column in frame.columns]
    return frame


def _listing(frame: pd.DataFrame) -> str:
    names = list(frame.columns)
    return ", ".join(names[:20]) + (f", ... ({len(names)} in all)" if len(names) > 20 else "")


def require_column(frame: pd.DataFrame, column: str, path: Path) -> None:
    if column in frame.columns:
        return
    nearest = difflib.get_close_matches(column, list(frame.columns), n=1)
    hint = f" (did you mean {nearest[0]!r}?)" if nearest else ""
    raise DataError(f"{path}: no column {column!r}{hint}; columns are: {_listing(frame)}")


def resolve_design_columns(frame: pd.DataFrame, design_columns: Sequence[str] | str, path: Path) -> list[str]:
    if isinstance(design_columns, str):
        names = [name.strip() for name in design_columns.split(",") if name.strip()]
    else:
        names = list(design_columns)
    if len(names) == 1 and names[0] not in frame.columns:
        prefixed = [column for column in frame.columns if _has_numeric_suffix(column, names[0])]
        if prefixed:
            return sorted(prefixed, key=lambda column: int(column[len(names[0]) :].lstrip("_")))
    for name in names:
        require_column(frame, name, path)
    return names


def _has_numeric_suffix(column: str, prefix: str) -> bool:
    rest = column[len(prefix) :].lstrip("_") if column.startswith(prefix) else ""
    return rest.isdigit()


def _read_npy_pair(path: Path, score_path: Path | None) -> RawTable:
    if score_path is None:
        raise DataError(f"{path}: a .npy designs file needs its scores file too, as 'designs.npy,scores.npy'")
    if not score_path.exists():
        raise DataError(f"{score_path}: no such file")
    designs = _load_npy(path)
    scores = _load_npy(score_path)
    if scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores[:, 0]
    if scores.ndim != 1:
        raise DataError(f"{score_path}: scores must be one column, got shape {scores.shape}")
    if designs.ndim == 1:
        designs = designs[:, None] if designs.dtype.kind in "fiu" else designs
    if len(designs) == 0:
        raise DataError(f"{path}: no data rows")
    if len(designs) != len(scores):
        raise DataError(f"{path}: {len(designs)} designs but {score_path.name} has {len(scores)} scores")
    try:
        scores = scores.astype(np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{score_path}: scores are not numeric") from None
    rows = designs.tolist() if designs.dtype.kind in "fiub" else [str(design) for design in designs]
    return RawTable(rows, scores, str(path))


def _load_npy(path: Path) -> np.ndarray:
    try:
        # allow_pickle=False: a .npy file must never run code on load.
        return np.load(path, allow_pickle=False)
    except ValueError as error:
        raise DataError(f"{path}: cannot read as .npy: {str(error).splitlines()[0]}") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read as .npy: {error}") from None
