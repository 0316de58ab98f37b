"""Train the shipped MOSES prior: the SELFIES sequence VAE on the packaged MOSES subset.

10,000 molecules are held out (seeded; `scripts/evaluate_moses_prior.py` draws the same ones) and never
seen in training; a further `--val-size` molecules of the rest are the validation set, on which greedy
reconstruction is printed every `--val-every` steps. Full checkpoints (with optimizer state, for
`--resume`) go to `--run-dir` every epoch; a weights-only copy (no optimizer state, ~4 MB) is written to
`--output` at every validation, so a run cut off at any point still leaves a usable prior.

    nohup python scripts/train_moses_prior.py > logs_train_moses_vae.log 2>&1 &

The shipped VAE is a second stage of training from the first one's weights with a stronger KL term
(`--init checkpoints/moses_vae.ckpt --kl-weight 0.1 --kl-warmup-steps 0 --learning-rate 1e-3`;
`docs/priors.md` has the command): its latents carry fewer nats per molecule and its samples are more
realistic.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback, ModelCheckpoint

from genmbo.data.moses_training import subset_split, training_molecules
from genmbo.data.token_datamodule import TokenDataModule
from genmbo.models.sequence_vae import SequenceVAE
from genmbo.spaces import MoleculeSpace


class ProgressPrinter(Callback):
    """One line per `every` steps and per validation, with wall time since the start of the script."""

    def __init__(self, start: float, every: int):
        self.start = start
        self.every = every

    def _line(self, trainer: pl.Trainer, names: list[str]) -> str:
        metrics = trainer.callback_metrics
        values = " ".join(f"{name}={float(metrics[name]):.4f}" for name in names if name in metrics)
        elapsed = (time.time() - self.start) / 60
        return f"[{elapsed:6.1f} min] epoch {trainer.current_epoch} step {trainer.global_step} {values}"

    def on_train_batch_end(self, trainer: pl.Trainer, *args) -> None:
        if trainer.global_step % self.every == 0:
            names = ["train/loss", "train/reconstruction", "train/kl", "train/kl_weight"]
            print(self._line(trainer, names), flush=True)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking:
            names = ["val/exact_match", "val/token_accuracy", "val/reconstruction", "val/kl"]
            print(self._line(trainer, names) + " (validation, greedy)", flush=True)


class WeightsOnlyCopy(Callback):
    """After every validation, save a weights-only checkpoint (what is shipped) to `path`."""

    def __init__(self, path: Path):
        self.path = path

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking:
            trainer.save_checkpoint(self.path, weights_only=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output", type=Path, default=Path("checkpoints/moses_vae.ckpt"))
    parser.add_argument("--run-dir", type=Path, default=Path("runs/moses_vae"))
    parser.add_argument("--resume", action="store_true", help="continue from RUN_DIR/last.ckpt")
    parser.add_argument(
        "--init",
        type=Path,
        help="start from this VAE checkpoint's weights (same architecture), with this run's settings",
    )
    parser.add_argument(
        "--moses-wheel",
        type=Path,
        help="train on the full MOSES training set read from this molsets wheel (minus the held-out "
        "molecules of the shipped subset) instead of the shipped subset",
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=Path("runs/moses_full"), help="where the parsed MOSES set is kept"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="1 is fastest when the 2 cores are shared")
    parser.add_argument("--max-steps", type=int, default=12000)
    parser.add_argument("--max-minutes", type=float, default=75.0)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--val-size", type=int, default=2000)
    parser.add_argument("--val-every", type=int, default=500)
    parser.add_argument("--print-every", type=int, default=100)
    parser.add_argument("--latent-dim", type=int, default=64)
    parser.add_argument("--embedding-dim", type=int, default=64)
    parser.add_argument("--hidden-dim", type=int, default=256)
    parser.add_argument("--encoder-hidden-dim", type=int, default=128)
    parser.add_argument("--num-layers", type=int, default=1)
    parser.add_argument("--kl-weight", type=float, default=0.05)
    parser.add_argument("--kl-warmup-steps", type=int, default=2000)
    parser.add_argument("--free-bits", type=float, default=0.0)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument(
        "--precision",
        default="32-true",
        choices=["32-true", "bf16-mixed"],
        help="bf16-mixed trains ~2x faster on CPUs with bfloat16 matrix units (weights stay float32)",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    start = time.time()
    torch.set_num_threads(args.threads)
    pl.seed_everything(args.seed, workers=True)

    space = MoleculeSpace()
    held_out = subset_split(args.seed)[1]
    training = training_molecules(args.seed, args.moses_wheel, args.cache_dir)
    # Tokenized a chunk at a time: the token lists of 1.58 million molecules at once take gigabytes.
    tokens = torch.cat([space.encode(training[i : i + 65_536]) for i in range(0, len(training), 65_536)])
    print(
        f"[{(time.time() - start) / 60:6.1f} min] encoded {len(tokens)} training molecules "
        f"({len(held_out)} held out); {len(tokens) - args.val_size} train, {args.val_size} validation",
        flush=True,
    )
    datamodule = TokenDataModule(tokens, val_size=args.val_size, batch_size=args.batch_size, seed=args.seed)

    model = SequenceVAE(
        space,
        latent_dim=args.latent_dim,
        embedding_dim=args.embedding_dim,
        hidden_dim=args.hidden_dim,
        encoder_hidden_dim=args.encoder_hidden_dim,
        num_layers=args.num_layers,
        kl_weight=args.kl_weight,
        kl_warmup_steps=args.kl_warmup_steps,
        free_bits=args.free_bits,
        learning_rate=args.learning_rate,
        cosine_decay=True,
    )
    if args.init is not None:
        model.load_state_dict(torch.load(args.init, map_location="cpu", weights_only=True)["state_dict"])
    print(f"parameters: {sum(p.numel() for p in model.parameters())}", flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    trainer = pl.Trainer(
        accelerator="cpu",
        precision=args.precision,
        max_steps=args.max_steps,
        max_time={"minutes": args.max_minutes},
        val_check_interval=args.val_every,
        check_val_every_n_epoch=None,
        num_sanity_val_steps=0,
        gradient_clip_val=1.0,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[
            ModelCheckpoint(dirpath=args.run_dir, filename="{epoch}", every_n_epochs=1, save_last=True),
            WeightsOnlyCopy(args.output),
            ProgressPrinter(start, args.print_every),
        ],
    )
    resume_from = args.run_dir / "last.ckpt"
    trainer.fit(
        model, datamodule=datamodule, ckpt_path=resume_from if args.resume and resume_from.exists() else None
    )
    trainer.save_checkpoint(args.output, weights_only=True)
    size_mb = args.output.stat().st_size / 2**20
    print(
        f"[{(time.time() - start) / 60:6.1f} min] done at step {trainer.global_step}; "
        f"saved {args.output} ({size_mb:.1f} MB); wall time {time.time() - start:.0f} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
