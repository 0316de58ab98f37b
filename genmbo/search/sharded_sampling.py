"""Sample a large candidate pool in shards spread over processes, with Lightning's `Trainer.predict`.

A pool of ``num_shards * shard_size`` latents is cut into shards; shard ``k`` is drawn from the diffusion
prior (optionally surrogate-guided) with a generator seeded by ``(seed, k)`` alone, so the pool is the
same whichever process draws which shard and however many processes there are. Shards are dealt to
the processes in turn (the shard count is padded to a multiple of the number of processes; padded
shards are drawn and dropped). At the end every process all-gathers the shards, orders
them by index, and process 0 writes the pool, with the metrics, to `output`: the pool is then
de-duplicated and selected once, by the caller.

Metrics are torchmetrics `Metric`s updated by each process on its own shards' decoded designs; their
`compute` synchronizes the states across processes, so a distributed run reports the values a single
process computes over the same pool.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader
from torchmetrics import MetricCollection

from genmbo.models.latent_diffusion import Guidance, LatentDiffusion
from genmbo.models.training import build_trainer, distributed_training, distribution
from genmbo.outputs.files import write_atomic

_SHARD_STRIDE = 1_000_003


class ShardedSampler(pl.LightningModule):
    """`Trainer.predict` draws the shards; see the module docstring.

    Args:
        diffusion: the latent diffusion prior.
        num_shards, shard_size: the pool holds ``num_shards * shard_size`` latents.
        seed: seeds every shard's generator, with the shard index.
        output: where process 0 writes ``{"latents", "metrics"}`` (a weights-only loadable file).
        guidance: optional `Guidance` (e.g. `SurrogateGuidance`) applied at every denoising step.
        decode: optional `latents -> designs` (the autoencoder's `decode_latents`); needed by `metrics`.
        metrics: optional torchmetrics, updated with each shard's decoded designs (or latents, with no
            `decode`).
        sampler, num_steps: the diffusion sampler and its steps.
    """

    def __init__(
        self,
        diffusion: LatentDiffusion,
        num_shards: int,
        shard_size: int,
        seed: int,
        output: Path,
        guidance: Guidance | None = None,
        decode: Callable[[torch.Tensor], Any] | None = None,
        metrics: MetricCollection | None = None,
        sampler: Literal["ddim", "ddpm"] = "ddim",
        num_steps: int | None = None,
    ):
        super().__init__()
        if num_shards < 1 or shard_size < 1:
            raise ValueError(f"need shards and samples per shard, got {num_shards} x {shard_size}")
        self.diffusion = diffusion.eval()
        self.num_shards = num_shards
        self.shard_size = shard_size
        self.seed = seed
        self.output = Path(output)
        self.guidance = guidance
        self.decode = decode
        self.metrics = metrics
        # A submodule, so Lightning moves the guiding surrogate to the sampling device with the prior.
        objective = getattr(guidance, "objective", None)
        self.guidance_surrogate = getattr(objective, "surrogate", None)
        self.pool: torch.Tensor | None = None
        self.sampler: Literal["ddim", "ddpm"] = sampler
        self.num_steps = num_steps
        self._shards: list[tuple[int, torch.Tensor]] = []
        self.pool_metrics: dict[str, torch.Tensor] = {}

    def predict_dataloader(self) -> DataLoader:
        world_size, rank = self.trainer.world_size, self.trainer.global_rank
        padded = math.ceil(self.num_shards / world_size) * world_size
        # Shards rank, rank + world_size, ...: the same split a distributed sampler would make.
        return DataLoader(torch.arange(padded)[rank::world_size], batch_size=1, shuffle=False)

    def on_predict_start(self) -> None:
        self._shards = []

    def predict_step(self, batch: torch.Tensor, batch_idx: int) -> None:
        shard = int(batch[0])
        generator = torch.Generator().manual_seed(self.seed * _SHARD_STRIDE + shard)
        with torch.enable_grad() if self.guidance is not None else torch.no_grad():
            latents = self.diffusion.sample(
                self.shard_size,
                generator,
                sampler=self.sampler,
                num_steps=self.num_steps,
                guidance=self.guidance,
            ).detach()
        self._shards.append((shard, latents))
        if self.metrics is not None and shard < self.num_shards:
            self.metrics.update(self.decode(latents) if self.decode is not None else latents)

    def on_predict_epoch_end(self) -> None:
        indices = torch.tensor([shard for shard, _ in self._shards], device=self.device)
        latents = torch.stack([latents for _, latents in self._shards])
        # Every process holds the same number of shards (the count is padded), as all_gather needs.
        all_indices = _gather(indices).reshape(-1)
        all_latents = _gather(latents).reshape(-1, self.shard_size, latents.shape[-1])
        order = torch.argsort(all_indices)
        keep = order[all_indices[order] < self.num_shards]
        pool = all_latents[keep].reshape(-1, latents.shape[-1]).cpu()
        metrics = (
            {name: value.cpu() for name, value in self.metrics.compute().items()} if self.metrics else {}
        )
        self.pool, self.pool_metrics = pool, metrics  # every process holds the whole pool
        if self.trainer.is_global_zero:
            write_atomic(
                self.output, lambda temporary: torch.save({"latents": pool, "metrics": metrics}, temporary)
            )


def _gather(tensor: torch.Tensor) -> torch.Tensor:
    """`world_size x ...`: every process's `tensor`, stacked, with the plain collective (the pool needs
    no autograd graph, which `LightningModule.all_gather` builds when gradients are enabled)."""
    distributed = torch.distributed
    if not (distributed.is_available() and distributed.is_initialized()):
        return tensor.unsqueeze(0)
    parts = [torch.empty_like(tensor) for _ in range(distributed.get_world_size())]
    distributed.all_gather(parts, tensor.contiguous())
    return torch.stack(parts)


def sample_pool(sampler: ShardedSampler, run_dir: Path) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Run `sampler` under the current distribution settings (`training.distributed_training`) and
    return the gathered pool (`num_shards * shard_size x d`) and the synchronized metrics.

    Processes that ran the sampling (every process under `ddp`, or one alone) return the pool they
    gathered; a parent whose children did the work (`ddp_spawn`) reads the file process 0 wrote.
    """
    strategy, devices, num_nodes = distribution()
    if strategy == "ddp_spawn" and not torch.cuda.is_initialized():
        # Spawned sampling processes aborted at interpreter exit in about one run in three
        # ("terminate called without an active exception", gloo); forked ones leave through os._exit.
        strategy = "ddp_fork"
    with distributed_training(strategy, devices, num_nodes):
        # Guidance needs gradients, which inference mode would forbid even inside `enable_grad`.
        trainer = build_trainer(run_dir, max_steps=1, inference_mode=False)
    trainer.predict(sampler, return_predictions=False)
    if sampler.pool is not None:
        return sampler.pool, sampler.pool_metrics
    result = torch.load(sampler.output, map_location="cpu", weights_only=True)
    return result["latents"], result["metrics"]


# Latents per shard when a pool is sampled across processes.
SHARD_SIZE = 256


def sampling_across_processes() -> bool:
    """Whether the current distributed setting (`genmbo.models.training.distributed_training`) asks for
    more than one process: `devices: auto` alone means one process on whatever accelerator there is."""
    from genmbo.models.training import several_processes

    strategy, _, _ = distribution()
    return several_processes() or strategy.startswith(("ddp", "fsdp", "deepspeed"))


def sample_across_processes(
    diffusion: LatentDiffusion,
    count: int,
    generator: torch.Generator,
    guidance: Guidance | None = None,
    sampler: Literal["ddim", "ddpm"] = "ddim",
    num_steps: int | None = None,
) -> torch.Tensor:
    """`count` latents drawn by `ShardedSampler` across the processes, shards of at most `SHARD_SIZE`;
    the shards' seed is drawn from `generator`."""
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    with tempfile.TemporaryDirectory(prefix="genmbo-pool-") as folder:
        shards = ShardedSampler(
            diffusion,
            num_shards=-(-count // SHARD_SIZE),
            shard_size=min(count, SHARD_SIZE),
            seed=seed,
            output=Path(folder) / "pool.pt",
            guidance=guidance,
            sampler=sampler,
            num_steps=num_steps,
        )
        pool, _ = sample_pool(shards, Path(folder) / "run")
    return pool[:count].to(diffusion.device)
