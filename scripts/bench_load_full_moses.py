"""Load, clean and encode the full MOSES training set (1.58 million molecules): time and peak memory.

The reliability issue's load test. The data come from the molsets wheel, which genmbo does not depend on:

    pip download --no-deps molsets==0.3.1 -d /tmp/moses
    python scripts/bench_load_full_moses.py /tmp/moses/molsets-0.3.1-py3-none-any.whl --out runs/moses_full

Writes the training SMILES to OUT/moses_train.csv with a placeholder score (the SMILES length: loading
needs a score column, and no oracle is timed here), then times `load_offline_dataset` (read, RDKit
canonicalization, exact SELFIES round trip, duplicate merging) and encoding with the shipped MOSES VAE,
with progress bars, and prints the figures as JSON. Peak memory is the process's maximum resident set;
molecules are parsed and tokenized by forked worker processes (`genmbo.runtime.workers`, one per thread),
whose largest resident set is given apart: it counts the pages they share with the process they were forked
from.
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import time
import zipfile
from pathlib import Path

import torch

from genmbo.data import load_offline_dataset
from genmbo.models.prior import SHIPPED_MOSES_PRIOR, load_autoencoder
from genmbo.runtime.progress import showing_progress


def write_csv(wheel: Path, path: Path) -> int:
    with zipfile.ZipFile(wheel) as archive:
        lines = gzip.decompress(archive.read("moses/dataset/data/train.csv.gz")).decode().splitlines()
    smiles = [line.strip() for line in lines[1:] if line.strip()]
    with path.open("w") as handle:
        handle.write("smiles,score\n")
        handle.writelines(f"{text},{len(text)}\n" for text in smiles)
    return len(smiles)


def peak_memory_gib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 2**20  # kilobytes on Linux


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("wheel", type=Path)
    parser.add_argument("--out", type=Path, default=Path("runs/moses_full"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    csv = args.out / "moses_train.csv"
    figures: dict[str, float] = {"rows": write_csv(args.wheel, csv)}
    with showing_progress():
        started = time.perf_counter()
        dataset = load_offline_dataset(csv, "molecules", design_columns="smiles", score_column="score")
        figures["load_clean_seconds"] = time.perf_counter() - started
        figures["rows_kept"] = len(dataset)
        figures["peak_memory_after_load_gib"] = peak_memory_gib()
        figures["peak_memory_parsing_workers_gib"] = peak_memory_gib(resource.RUSAGE_CHILDREN)
        print(dataset.report.summary(), flush=True)
        autoencoder = load_autoencoder("sequence_vae", SHIPPED_MOSES_PRIOR / "autoencoder.ckpt")
        started = time.perf_counter()
        with torch.no_grad():
            latents = autoencoder.encode_designs(dataset.designs)
        figures["encode_seconds"] = time.perf_counter() - started
    figures["latents_shape"] = list(latents.shape)
    figures["peak_memory_gib"] = peak_memory_gib()
    figures["peak_memory_workers_gib"] = peak_memory_gib(resource.RUSAGE_CHILDREN)
    figures["threads"] = args.threads
    print(json.dumps(figures, indent=2))
    (args.out / "figures.json").write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
