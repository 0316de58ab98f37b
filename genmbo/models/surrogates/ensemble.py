"""The surrogate of a campaign: a deep ensemble of MLPs predicting a design's score from its latent code.

`EnsembleSurrogate.predict(latents)` returns the ensemble mean and standard deviation in the data's score
units, differentiable with respect to `latents` (the `Surrogate` protocol); `fit_surrogate` trains one
with resumable checkpoints and `load_surrogate` rebuilds it from its weights-only copy.

Deep ensemble (Lakshminarayanan et al., NeurIPS 2017, arXiv 1612.01474, Sec. 2.4): ``K`` MLPs ``f_k``
that differ by random initialization and by their minibatches; the prediction is the mixture's moments
``mu = mean_k f_k(x)`` and ``sigma^2 = mean_k f_k(x)^2 - mu^2`` (their eq. for ``sigma_*^2`` with no
per-member variance). The std is therefore epistemic only, the members' disagreement: there is no
aleatoric term because the ranking and conservative losses below have no likelihood to fit one with,
and search needs the uncertainty that shrinks with data. Members are not trained on bootstraps (the paper
found bootstrapping hurts): each step, the loader's batch of ``K * batch_size`` shuffled rows is split
into ``K`` disjoint member batches, so every member follows its own random order through the data.

Inputs are standardized per dimension and scores z-scored with statistics of the training rows (buffers),
so defaults serve latents and scores of any scale. Losses (`surrogate_losses`), on standardized values:

- ``mse``: ``mean_k mean_i (f_k(x_i) - y_i)^2``.
- ``listnet``: RaM (Tan et al., ICLR 2025, arXiv 2410.11502, Sec. 3): ListNet's top-one cross-entropy
  ``-sum_j softmax(y)_j log softmax(f(x))_j`` over lists of ``m = list_length`` designs drawn without
  replacement from the data, temperature 1 on z-scored scores. A ranking loss leaves the output's shift
  and scale free, so after training (and before each validation) each member is calibrated by the
  least-squares affine map ``a_k f_k + b_k`` onto the standardized scores of (up to 4096) training rows
  (`calibrate`); mean and std are taken over the calibrated members, so both are in score units.
- ``coms``: COMs (Trabucco et al., ICML 2021, arXiv 2107.06882, eq. 3 / Algorithm 1):
  ``MSE + alpha (mean_k E_{x ~ mu_k} f_k(x) - E_{x ~ D} f_k(x))``, where ``mu_k`` are the batch's points
  after `coms_steps` gradient-ascent steps ``x <- x + eta grad f_k(x)`` on member ``k`` itself, with
  ``eta = coms_step_size * sqrt(d)`` in standardized input units (design-baselines' `coms_cleaned`).

Departures. RaM: lists are cut from each member's shuffled minibatch (disjoint within an epoch; RaM's
code draws 10,000 lists independently up front), default ``m = 256`` rather than RaM's 1,000 to keep steps
cheap. RaM's "output adaptation" maps outputs to mean 0 and std 1 on the training data; `calibrate`
instead fits the least-squares slope and intercept, which matches the scale of the scores rather than
overstating it when the fit is imperfect (moment matching spreads predictions by ``1 / correlation``),
keeps each member's ranking (the slope is positive whenever its outputs correlate positively with the
scores) and makes ``std`` a spread in score units. COMs: ``alpha`` is fixed, not tuned by dual gradient
descent on a Lagrangian with an overestimation limit; our loss is MSE + alpha * gap where eq. 3 has
MSE / 2, so our ``alpha`` is twice the paper's; few ascent steps (default 5; design-baselines' default is
50) keep training within a few times the cost of MSE; the model is an ensemble with adversarial points
per member, not a single network.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from einops import rearrange
from pytorch_lightning.callbacks import Callback, EarlyStopping, ModelCheckpoint
from torchmetrics import MeanSquaredError, SpearmanCorrCoef

from genmbo.config import SurrogateConfig, SurrogateLoss
from genmbo.data.latent_datamodule import LatentDataModule
from genmbo.errors import GenmboError
from genmbo.metrics.surrogate_trust import SurrogateTrust
from genmbo.models.checkpoints import load_module, save_weights
from genmbo.models.networks.ensemble_mlp import EnsembleMLP
from genmbo.models.surrogates.losses import coms_penalty, gradient_ascent, listnet_loss, mse_loss
from genmbo.models.surrogates.sizing import MIN_STOPPING_ROWS, VALIDATIONS, sized_for
from genmbo.models.training import build_trainer, resume_path, writes_training_logs

# Rows that calibrate a ranking model: the training split is a seeded permutation, so its first rows are
# a random sample; 4096 are ample for two coefficients per member and cost one small forward pass.
CALIBRATION_ROWS = 4096
# Rows held out for validation and for the trust figures (`validation_fraction`): 5%, but at least
# `MIN_VALIDATION_ROWS` (or a fifth of small data) so that a held-out Spearman means something at n = 100.
VALIDATION_FRACTION = 0.05
MIN_VALIDATION_ROWS = 50


def validation_fraction(rows: int) -> float:
    """The share of `rows` held out: 5%, raised to ``min(50, rows // 5)`` rows for small data (so 20 of
    100 rows, 10 of 50; from 1,000 rows on it is 5%)."""
    wanted = max(round(VALIDATION_FRACTION * rows), min(MIN_VALIDATION_ROWS, rows // 5))
    return VALIDATION_FRACTION if wanted == round(VALIDATION_FRACTION * rows) else wanted / rows


def split_members(rows: torch.Tensor, members: int) -> torch.Tensor:
    """A `n x ...` batch as `members x ceil(n / members) x ...` disjoint blocks.

    When `n` is not a multiple of `members` the last block wraps around to the first rows, so a short final
    batch (even one with fewer rows than members) still gives every member a full block.
    """
    block = math.ceil(rows.shape[0] / members)
    index = torch.arange(block * members, device=rows.device) % rows.shape[0]
    return rearrange(rows[index], "(k b) ... -> k b ...", k=members)


class EnsembleSurrogate(pl.LightningModule):
    """A deep ensemble predicting scores (higher is better) from `latent_dim`-wide latents.

    Batches are ``(latents, scores)`` (see `LatentDataModule`, with batch size ``members * batch_size``).
    Standardization statistics are fitted by `fit_standardization`, or at the start of `Trainer.fit` from
    the datamodule's `train_latents` / `train_scores`. Arguments mirror `SurrogateConfig`.
    """

    def __init__(
        self,
        latent_dim: int,
        members: int = 5,
        hidden_dims: Sequence[int] = (256, 256),
        loss: SurrogateLoss = "mse",
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        list_length: int = 256,
        listnet_temperature: float = 1.0,
        coms_alpha: float = 0.5,
        coms_step_size: float = 0.05,
        coms_steps: int = 5,
    ):
        super().__init__()
        if loss not in ("mse", "listnet", "coms"):
            raise ValueError(f"unknown surrogate loss {loss!r}; choose 'mse', 'listnet' or 'coms'")
        if members < 2:
            raise ValueError(f"an ensemble needs at least 2 members for a standard deviation, got {members}")
        self.save_hyperparameters()
        # `SurrogateTrust` figures on the held-out rows, set by `fit_surrogate` (None: unknown).
        self.trust: dict[str, Any] | None = None
        self.hparams["hidden_dims"] = list(hidden_dims)
        self.latent_dim = latent_dim
        self.network = EnsembleMLP(members, latent_dim, hidden_dims)
        self.register_buffer("latent_mean", torch.zeros(latent_dim))
        self.register_buffer("latent_std", torch.ones(latent_dim))
        self.register_buffer("score_mean", torch.zeros(()))
        self.register_buffer("score_std", torch.ones(()))
        self.register_buffer("standardization_fitted", torch.tensor(False))
        # Per-member affine map from raw outputs to standardized scores: the identity except under ListNet.
        self.register_buffer("output_scale", torch.ones(members, 1))
        self.register_buffer("output_shift", torch.zeros(members, 1))
        with warnings.catch_warnings():
            # It stores a validation epoch's predictions, which `fit_surrogate` caps at 4 batches.
            warnings.filterwarnings("ignore", message="Metric `SpearmanCorrcoef` will save")
            self.val_spearman = SpearmanCorrCoef()
        self.val_rmse = MeanSquaredError(squared=False)

    @property
    def members(self) -> int:
        return self.hparams.members

    @torch.no_grad()
    def fit_standardization(self, latents: torch.Tensor, scores: torch.Tensor) -> None:
        """Fit per-dimension statistics on `n x latent_dim` latents and score statistics on `n` scores."""
        latents, scores = latents.to(self.latent_mean), scores.to(self.score_mean)
        many = latents.shape[0] > 1
        latent_std = latents.std(0) if many else torch.ones_like(self.latent_std)
        score_std = scores.std() if many else torch.ones_like(self.score_std)
        # Constant dimensions (or scores) keep unit scale instead of dividing by zero.
        self.latent_mean.copy_(latents.mean(0))
        self.latent_std.copy_(torch.where(latent_std > 1e-8, latent_std, torch.ones_like(latent_std)))
        self.score_mean.copy_(scores.mean())
        self.score_std.copy_(score_std if score_std > 1e-8 else torch.ones_like(score_std))
        self.standardization_fitted.fill_(True)

    def standardize(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents (`... x latent_dim`) in the network's unit-scale input coordinates."""
        return (latents.to(self.latent_mean) - self.latent_mean) / self.latent_std

    def _standardized_scores(self, scores: torch.Tensor) -> torch.Tensor:
        return (scores.to(self.score_mean) - self.score_mean) / self.score_std

    def predict_members(self, latents: torch.Tensor) -> torch.Tensor:
        """Each member's predicted score (a `K x n` tensor, score units) at `n x latent_dim` latents."""
        raw = self.network(self.standardize(latents)).squeeze(-1)
        return (self.output_scale * raw + self.output_shift) * self.score_std + self.score_mean

    def predict(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Ensemble mean and std (each a `n` tensor, score units) at `n x latent_dim` latents.

        The std is the members' spread (population std, the deep-ensemble mixture's), with no aleatoric
        term. Both outputs are differentiable with respect to `latents`.
        """
        members = self.predict_members(latents)
        return members.mean(0), members.std(0, correction=0)

    @torch.no_grad()
    def calibrate(self, latents: torch.Tensor, scores: torch.Tensor) -> None:
        """Fit each member's least-squares affine map from raw output to standardized `scores` (`n`)."""
        raw = self.network(self.standardize(latents)).squeeze(-1)
        targets = self._standardized_scores(scores)
        raw_centered = raw - raw.mean(1, keepdim=True)
        variance = raw_centered.pow(2).mean(1, keepdim=True).clamp_min(1e-12)
        scale = (raw_centered * (targets - targets.mean())).mean(1, keepdim=True) / variance
        self.output_scale.copy_(scale)
        self.output_shift.copy_(targets.mean() - scale * raw.mean(1, keepdim=True))

    def on_fit_start(self) -> None:
        # Runs after a resumed checkpoint's buffers are restored, so statistics are fitted only once.
        if bool(self.standardization_fitted):
            return
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is None or getattr(datamodule, "train_scores", None) is None:
            raise RuntimeError(
                "without a LatentDataModule with scores, call fit_standardization(latents, scores) first"
            )
        self.fit_standardization(datamodule.train_latents, datamodule.train_scores)

    def _calibrate_on_training_rows(self) -> None:
        datamodule = getattr(self.trainer, "datamodule", None)
        if self.hparams.loss != "listnet" or getattr(datamodule, "train_scores", None) is None:
            return
        self.calibrate(
            datamodule.train_latents[:CALIBRATION_ROWS].to(self.device),
            datamodule.train_scores[:CALIBRATION_ROWS].to(self.device),
        )

    def on_validation_epoch_start(self) -> None:
        self._calibrate_on_training_rows()

    def on_fit_end(self) -> None:
        # Not `on_train_end`: Lightning skips that when a rerun resumes from a checkpoint at max_steps.
        self._calibrate_on_training_rows()

    def training_loss(self, latents: torch.Tensor, scores: torch.Tensor) -> dict[str, torch.Tensor]:
        """The configured loss on a `n x latent_dim` batch and its `n` scores (split across members)."""
        inputs = split_members(self.standardize(latents), self.members)
        targets = split_members(self._standardized_scores(scores), self.members)
        predictions = self.network(inputs).squeeze(-1)
        loss = self.hparams.loss
        if loss == "listnet":
            length = min(self.hparams.list_length, predictions.shape[1])
            used = predictions.shape[1] // length * length
            lists = rearrange(predictions[:, :used], "k (l m) -> k l m", m=length)
            target_lists = rearrange(targets[:, :used], "k (l m) -> k l m", m=length)
            return {"loss": listnet_loss(lists, target_lists, self.hparams.listnet_temperature)}
        squared_error = mse_loss(predictions, targets)
        if loss == "mse":
            return {"loss": squared_error}
        step_size = self.hparams.coms_step_size * math.sqrt(self.latent_dim)
        adversarial = gradient_ascent(
            lambda points: self.network(points).squeeze(-1), inputs, step_size, self.hparams.coms_steps
        )
        overestimation = coms_penalty(self.network(adversarial).squeeze(-1), predictions)
        return {
            "loss": squared_error + self.hparams.coms_alpha * overestimation,
            "mse": squared_error,
            "overestimation": overestimation,
        }

    def training_step(self, batch: Sequence[torch.Tensor], batch_index: int) -> torch.Tensor:
        latents, scores = batch
        losses = self.training_loss(latents, scores)
        if writes_training_logs(self.trainer):
            for name, value in losses.items():
                self.log(f"train/{name}", value, prog_bar=name == "loss")
        return losses["loss"]

    def validation_step(self, batch: Sequence[torch.Tensor], batch_index: int) -> None:
        latents, scores = batch
        mean, _ = self.predict(latents)
        self.val_spearman.update(mean, scores.to(mean))
        self.val_rmse.update(mean, scores.to(mean))
        self.log("val/spearman", self.val_spearman, prog_bar=True)
        self.log("val/rmse", self.val_rmse)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(
            self.parameters(), lr=self.hparams.learning_rate, weight_decay=self.hparams.weight_decay
        )


def load_surrogate(path: str | Path) -> EnsembleSurrogate:
    """Rebuild a surrogate from a checkpoint written by `fit_surrogate` (weights and hyperparameters)."""
    return load_module(EnsembleSurrogate, path, "surrogate")


def fit_surrogate(
    latents: torch.Tensor, scores: torch.Tensor, config: SurrogateConfig, folder: Path, seed: int = 0
) -> EnsembleSurrogate:
    """Train (or load) a surrogate on `n x d` latents and `n` scores; save it as `folder/surrogate.ckpt`.

    Training checkpoints go to `folder/surrogate/`; rerunning with the same arguments resumes an
    interrupted run from its `last.ckpt`. The configuration's "auto" fields are chosen by the number of
    rows (`genmbo.models.surrogates.sizing.sized_for`). `validation_fraction` of the rows are held out
    for validation metrics; the trained model's `trust` holds its `SurrogateTrust` figures on them (None
    when loaded from a given checkpoint: its held-out rows are unknown).
    """
    if latents.dim() != 2 or scores.shape != (latents.shape[0],):
        raise GenmboError(
            f"a surrogate needs `n x d` latents and `n` scores, got {tuple(latents.shape)} and "
            f"{tuple(scores.shape)}"
        )
    if latents.shape[0] < 2:
        raise GenmboError(f"a surrogate needs at least 2 scored designs to train on, got {latents.shape[0]}")
    folder.mkdir(parents=True, exist_ok=True)
    if config.checkpoint is not None:
        model = load_module(EnsembleSurrogate, config.checkpoint, "surrogate", latents.shape[1])
        save_weights(model, folder / "surrogate.ckpt")
        return model
    held_out_share = validation_fraction(latents.shape[0])
    stops = config.patience is not None and round(held_out_share * latents.shape[0]) >= MIN_STOPPING_ROWS
    # The split draws from its own seeded generator: built first, it leaves the model's draws as they were.
    data = LatentDataModule(
        latents.detach().cpu(),
        scores.detach().cpu(),
        batch_size=config.members * config.batch_size,
        val_fraction=held_out_share * (2 if stops else 1),
        seed=seed,
    )
    # Stopping chooses among checkpoints by the rows it validates on, so the trust figures come from rows
    # of their own: the held-out rows' first half stops the run, the second half measures it.
    trust_indices = data.val_indices
    if stops:
        data.val_indices, trust_indices = data.val_indices.tensor_split(2)
    config = sized_for(config, latents.shape[0], len(data.train_indices))
    pl.seed_everything(seed, verbose=False)
    model = EnsembleSurrogate(
        latents.shape[1],
        members=config.members,
        hidden_dims=config.hidden_dims,
        loss=config.loss,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        list_length=config.list_length,
        listnet_temperature=config.listnet_temperature,
        coms_alpha=config.coms_alpha,
        coms_step_size=config.coms_step_size,
        coms_steps=config.coms_steps,
    )
    run_dir = folder / "surrogate"
    # Validation every twentieth of the run, not every epoch (an epoch of small data is one step); it
    # stops the run early (`genmbo.models.surrogates.sizing`).
    stopping = early_stopping(run_dir, config.patience) if stops else []
    trainer = build_trainer(
        run_dir,
        config.max_steps,
        limit_val_batches=4,
        val_every_steps=max(1, config.max_steps // VALIDATIONS),
        callbacks=stopping,
    )
    # A stopped run's last checkpoint is not where it stopped (nor does it record the stop), so a rerun
    # takes the finished run's best weights instead of resuming it.
    finished = run_dir / "best" / "finished"
    if stopping and finished.is_file():
        restore_best_validation(model, run_dir / "best" / finished.read_text())
    else:
        trainer.fit(model, datamodule=data, ckpt_path=resume_path(run_dir))
        if stopping:
            best = Path(stopping[0].best_model_path)
            restore_best_validation(model, best)
            finished.write_text(best.name)
    save_weights(model, folder / "surrogate.ckpt")
    model.eval()
    model.trust = held_out_trust(model, latents[trust_indices], scores[trust_indices])
    return model


def early_stopping(run_dir: Path, patience: int) -> list[Callback]:
    """The callbacks that keep the weights of the best validation Spearman correlation
    (`run_dir/best/best.ckpt`) and stop the run after `patience` validations without a better one."""
    best = ModelCheckpoint(
        dirpath=run_dir / "best",
        filename="best",
        monitor="val/spearman",
        mode="max",
        save_top_k=1,
        save_weights_only=True,
    )
    return [
        best,
        EarlyStopping(monitor="val/spearman", mode="max", patience=patience, check_on_train_epoch_end=False),
    ]


def restore_best_validation(model: EnsembleSurrogate, best: Path) -> None:
    """Load the weights of the best validation (`best`, a checkpoint of `early_stopping`) into `model`."""
    if not best.is_file():
        raise GenmboError(
            f"the surrogate's best validation checkpoint {best} is missing: delete {best.parent}"
        )
    state = torch.load(best, map_location="cpu", weights_only=True)["state_dict"]
    model.load_state_dict(state)


def held_out_trust(model: EnsembleSurrogate, latents: torch.Tensor, scores: torch.Tensor) -> dict[str, Any]:
    """`SurrogateTrust` of `model` on rows it did not train on."""
    trust = SurrogateTrust(sync_on_compute=False)
    with torch.no_grad():  # the network predicts in cache-sized blocks itself
        trust.update(*model.predict(latents.detach().cpu()), scores)
    return trust.compute()
