"""Train the latent diffusion half of the shipped MOSES prior and assemble `checkpoints/moses/`.

Runs after `scripts/train_moses_prior.py` (the SELFIES VAE): encodes the VAE's training molecules (the
shipped subset minus the 10,000 held out, seed 0) to posterior means, trains an unconditional latent
diffusion model on them, and writes `checkpoints/moses/{autoencoder,diffusion}.ckpt` and `prior.json`,
which `genmbo.models.prior.load_prior("checkpoints/moses")` loads.

    python scripts/train_moses_diffusion.py --autoencoder checkpoints/moses_vae.ckpt --out checkpoints/moses
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import pytorch_lightning as pl
import torch

from genmbo.data.latent_datamodule import LatentDataModule
from genmbo.data.moses_training import training_molecules
from genmbo.models.checkpoints import save_weights
from genmbo.models.latent_diffusion import LatentDiffusion
from genmbo.models.prior import Prior, load_autoencoder


class ProgressLine(pl.Callback):
    """One line every `every` steps with the elapsed time and the training loss."""

    def __init__(self, start: float, every: int):
        self.start, self.every = start, every

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_index) -> None:
        if trainer.global_step % self.every == 0:
            loss = float(outputs["loss"]) if isinstance(outputs, dict) else float(outputs)
            print(
                f"[{time.time() - self.start:6.0f} s] step {trainer.global_step} loss {loss:.4f}", flush=True
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--autoencoder", type=Path, default=Path("checkpoints/moses_vae.ckpt"))
    parser.add_argument("--out", type=Path, default=Path("checkpoints/moses"))
    parser.add_argument("--seed", type=int, default=0, help="the seed the VAE's held-out split used")
    parser.add_argument(
        "--moses-wheel",
        type=Path,
        help="train on the latents of the full MOSES training set of this molsets wheel (minus the held-out "
        "molecules) instead of the shipped subset's",
    )
    parser.add_argument("--cache-dir", type=Path, default=Path("runs/moses_full"))
    parser.add_argument("--max-steps", type=int, default=7_000)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--hidden-dim", type=int, default=384)
    parser.add_argument("--num-blocks", type=int, default=4)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument(
        "--ema-decay",
        type=float,
        default=0.0,
        help="average the weights with this EMA decay (0: last iterate)",
    )
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    torch.set_num_threads(args.threads)
    start = time.time()

    autoencoder = load_autoencoder("sequence_vae", args.autoencoder)
    training = training_molecules(args.seed, args.moses_wheel, args.cache_dir)
    latents = autoencoder.encode_designs(training)
    print(
        f"[{time.time() - start:6.0f} s] encoded {len(training)} training molecules to {tuple(latents.shape)}"
    )

    pl.seed_everything(args.seed, verbose=False)
    diffusion = LatentDiffusion(
        latents.shape[1],
        hidden_dim=args.hidden_dim,
        num_blocks=args.num_blocks,
        learning_rate=args.learning_rate,
        ema_decay=args.ema_decay,
    )
    data = LatentDataModule(latents, batch_size=args.batch_size, val_fraction=0.01, seed=args.seed)
    trainer = pl.Trainer(
        accelerator="cpu",
        callbacks=[ProgressLine(start, every=500)],
        max_steps=args.max_steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        val_check_interval=2_000,
        check_val_every_n_epoch=None,
        num_sanity_val_steps=0,
    )
    trainer.fit(diffusion, datamodule=data)
    print(
        f"[{time.time() - start:6.0f} s] diffusion trained for {trainer.global_step} steps; "
        f"validation loss {float(trainer.callback_metrics.get('val/loss', float('nan'))):.4f}"
    )

    args.out.mkdir(parents=True, exist_ok=True)
    save_weights(autoencoder, args.out / "autoencoder.ckpt")
    save_weights(diffusion, args.out / "diffusion.ckpt")
    Prior(autoencoder, diffusion.eval()).save(args.out)
    sizes = {path.name: round(path.stat().st_size / 2**20, 2) for path in sorted(args.out.iterdir())}
    print(f"[{time.time() - start:6.0f} s] wrote {args.out}: {sizes} MB")


if __name__ == "__main__":
    main()
