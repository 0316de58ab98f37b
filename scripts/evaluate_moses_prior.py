"""Evaluate the shipped MOSES prior on the 10,000 molecules `train_moses_prior.py` held out.

Reconstruction is greedy decoding of the posterior mean. Printed as JSON: exact match of the whole token
row (target >= 0.85, the realism issue's), token accuracy over non-padding positions including EOS
(target >= 0.95), the fraction of decoded SMILES equal to the input molecule, and the fraction of decodes
that are molecules.

    python scripts/evaluate_moses_prior.py --checkpoint checkpoints/moses/autoencoder.ckpt
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from genmbo.data.moses_training import subset_split
from genmbo.metrics.reconstruction import ExactMatch, TokenAccuracy
from genmbo.models.sequence_vae import SequenceVAE


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", type=Path, default=Path("checkpoints/moses/autoencoder.ckpt"))
    parser.add_argument("--seed", type=int, default=0, help="the seed the prior was trained with")
    parser.add_argument(
        "--limit", type=int, default=None, help="evaluate only the first LIMIT held-out molecules"
    )
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    start = time.time()
    torch.set_num_threads(args.threads)

    model = SequenceVAE.load_from_checkpoint(args.checkpoint, map_location="cpu").eval()
    molecules = subset_split(args.seed)[1][: args.limit]
    targets = model.space.encode(molecules)

    token_accuracy, exact_match = TokenAccuracy(), ExactMatch()
    decoded_smiles: list[str | None] = []
    with torch.no_grad():
        for chunk in targets.split(args.batch_size):
            means, _ = model.encoder(chunk)
            decoded = model.generate(means)
            token_accuracy.update(decoded[:, 1:], chunk[:, 1:])
            exact_match.update(decoded[:, 1:], chunk[:, 1:])
            decoded_smiles.extend(model.space.decode(decoded))

    same = sum(decoded == original for decoded, original in zip(decoded_smiles, molecules, strict=True))
    report = {
        "checkpoint": str(args.checkpoint),
        "molecules": len(molecules),
        "exact_match": round(float(exact_match.compute()), 4),
        "token_accuracy": round(float(token_accuracy.compute()), 4),
        "same_molecule": round(same / len(molecules), 4),
        "decoded_valid": round(sum(s is not None for s in decoded_smiles) / len(molecules), 4),
        "targets_met": bool(exact_match.compute() >= 0.85 and token_accuracy.compute() >= 0.95),
        "seconds": round(time.time() - start, 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
