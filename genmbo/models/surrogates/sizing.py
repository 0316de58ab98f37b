"""The surrogate's training length and width, chosen by the number of labeled rows it trains on.

`fit_surrogate` resolves every ``"auto"`` field of the surrogate section with `sized_for` before it
builds the ensemble, for the latent surrogate and the design surrogate alike. The rule:

- ``max_steps``: at most `MAX_EPOCHS` passes over the training rows and at most `MAX_STEPS` steps, where a
  step draws ``members * batch_size`` rows. From about 3,840 training rows on an epoch is 4 or more steps
  and the cap is `MAX_STEPS` (2,000), so every full-size task of the suite (5,000 to 160,000 rows) trains as
  before; 500 labeled rows (450 after the held-out share) train 500 steps instead of 2,000, each a full pass.
- early stopping, only when ``patience`` is set (default None: every step is trained): the run validates
  every twentieth of ``max_steps`` and stops when the Spearman correlation of its mean with the
  validation rows' scores has not improved for ``patience`` validations in a row; the weights of the best
  validation are kept. The validation rows are as many again as the held-out rows of the trust figures
  and apart from them, so that the rows that chose the checkpoint do not also judge it. With fewer than
  `MIN_STOPPING_ROWS` held-out rows (under 100 labeled rows) a correlation is too noisy to stop on and the
  run trains its ``max_steps``. It is off by default: on tuning seeds it trained 1.6-6 times faster and
  ranked unseen designs better on TFBind8 (worse on Ackley-32), but the flagship's libraries were no
  better for it (TFBind8 at full size lower on both seeds measured; docs/methods.md, "Early stopping").
- ``hidden_dims``: `SMALL_HIDDEN_DIMS` (two layers of 64) below `SMALL_DATA_ROWS` rows, else
  `HIDDEN_DIMS` (two of 256).

Why (`scripts/surrogate_by_data_size.py`, tuning seeds 10-11, on the design features of TFBind8 and
Ehrlich s20 and the vectors of Ackley-32; the table is in docs/methods.md, "Surrogate sizing"): with 100
to 2,000 labeled rows the sized ensemble ranks unseen designs as well as the fixed `[256, 256]` trained
2,000 steps (Spearman within 0.01) in a ninth to a half of the time; below 1,000 rows narrow members
disagree more, so their std covers more of the unseen designs' errors, though still far less than a
Gaussian's 68% (`genmbo.metrics.surrogate_trust` reports by how much, as the conformal `std_scale`).
"""

from __future__ import annotations

import math

from genmbo.config import SurrogateConfig

MAX_STEPS = 2000
VALIDATIONS = 20
MIN_STOPPING_ROWS = 20
MAX_EPOCHS = 500
SMALL_DATA_ROWS = 1000
HIDDEN_DIMS = [256, 256]
SMALL_HIDDEN_DIMS = [64, 64]


def sized_steps(training_rows: int, members: int, batch_size: int) -> int:
    """Steps for `training_rows`: ``min(MAX_STEPS, MAX_EPOCHS * steps per epoch)``, where an epoch is
    ``ceil(training_rows / (members * batch_size))`` steps."""
    steps_per_epoch = max(1, math.ceil(training_rows / (members * batch_size)))
    return min(MAX_STEPS, MAX_EPOCHS * steps_per_epoch)


def sized_hidden_dims(rows: int) -> list[int]:
    """Hidden widths for a surrogate trained on `rows` labeled rows."""
    return list(SMALL_HIDDEN_DIMS if rows < SMALL_DATA_ROWS else HIDDEN_DIMS)


def sized_for(config: SurrogateConfig, rows: int, training_rows: int | None = None) -> SurrogateConfig:
    """`config` with its ``"auto"`` fields chosen for `rows` labeled rows, of which `training_rows`
    (default: all) are trained on; explicit values are kept."""
    update: dict = {}
    if config.max_steps == "auto":
        trained = rows if training_rows is None else training_rows
        update["max_steps"] = sized_steps(trained, config.members, config.batch_size)
    if config.hidden_dims == "auto":
        update["hidden_dims"] = sized_hidden_dims(rows)
    return config.model_copy(update=update)
