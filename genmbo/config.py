"""Typed configuration: pydantic models with every key checked, read from YAML and the command line.

A config is a tree of pydantic models (`GenmboConfig` and its sections, `extra="forbid"`, strict types:
`true` is not an integer, `"3"` is not a number). The search section is the chosen method's own options
model (`genmbo.search.options`), derived from the method's constructor, so the constructor is the one
place a search default is decided.

`load_config` reads YAML with the safe loader (no Python objects can be built from a file). A file may
`include:` other config files (paths relative to it), merged in order beneath its own keys: the files in
`configs/` are one per component, composed by experiment files. `with_overrides` writes dotted
``KEY=VALUE`` pairs (values parsed as YAML) over a raw mapping before it is checked, which is what the
command line's repeatable ``--set`` does. Every problem is one `ConfigError` line naming the key and,
for a misspelled one, the nearest valid key.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    field_validator,
    model_validator,
)

from genmbo.errors import ConfigError

if TYPE_CHECKING:
    from genmbo.data.desirability import Desirability

T = TypeVar("T", bound=BaseModel)
DEFAULT_METHOD = "guided_diffusion"


class Section(BaseModel):
    """A config section: unknown keys are errors, types are strict, assignment is checked."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_assignment=True)


PositiveInt = Annotated[int, Field(ge=1)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class DesirabilityConfig(Section):
    """A desirability transform of an objective's column to [0, 1] (`genmbo.data.desirability`, REINVENT4's
    forms and parameters): `sigmoid` and `reverse_sigmoid` rise (fall) between `low` and `high` with
    steepness `k`; `double_sigmoid` is a window from `low` to `high` (`coef_div`, `coef_si`, `coef_se`);
    `step` is 1 inside ``[low, high]``, either end open. Which bounds each needs is checked by the
    transform itself."""

    kind: Literal["sigmoid", "reverse_sigmoid", "double_sigmoid", "step"]
    low: FiniteFloat | None = None
    high: FiniteFloat | None = None
    k: FiniteFloat = Field(0.5, gt=0)
    coef_div: FiniteFloat = Field(100.0, gt=0)
    coef_si: FiniteFloat = Field(150.0, gt=0)
    coef_se: FiniteFloat = Field(150.0, gt=0)

    @model_validator(mode="after")
    def _bounds(self) -> DesirabilityConfig:
        self.transform()  # its ValueError is the config error
        return self

    def transform(self) -> Desirability:
        """The transform these settings describe."""
        from genmbo.data.desirability import Desirability

        return Desirability(**self.model_dump())


class ObjectiveConfig(Section):
    """One measured objective of a multi-objective campaign: its column, whether higher (`max`) or lower
    (`min`) is better, its weight in the scalarization that ranks designs (`genmbo.data.objectives`), and
    optionally a desirability transform, which is maximized (it sets the direction itself)."""

    column: str
    direction: Literal["max", "min"] = "max"
    weight: float = Field(1.0, gt=0)
    desirability: DesirabilityConfig | None = None

    @model_validator(mode="after")
    def _one_direction(self) -> ObjectiveConfig:
        if self.desirability is not None and self.direction == "min":
            raise ValueError(
                f"objective {self.column!r}: a desirability is maximized; for lower is better use "
                "reverse_sigmoid and leave direction out"
            )
        return self


class ConstraintConfig(Section):
    """A measured column whose value must lie in ``[low, high]`` (either end open): designs are judged
    feasible first (`genmbo.data.objectives`)."""

    column: str
    low: FiniteFloat | None = None
    high: FiniteFloat | None = None

    @model_validator(mode="after")
    def _a_range(self) -> ConstraintConfig:
        if self.low is None and self.high is None:
            raise ValueError(f"constraint {self.column!r}: give low, high or both")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"constraint {self.column!r}: low {self.low} is above high {self.high}")
        return self


class DataConfig(Section):
    """The user's own offline data (`genmbo design --data ...`). One score column (`score_col`, with
    `minimize`), or several objectives (`objectives`, two or more: a multi-objective campaign), or one or
    more objectives with `constraints` (ranges other columns must lie in)."""

    path: str | None = None
    space: Literal["molecules", "sequence", "continuous"] | None = None
    design_col: str | None = None
    score_col: str | None = None
    minimize: bool = False
    alphabet: str | None = None
    lower: float | None = None
    upper: float | None = None
    # Unmeasured designs (a catalogue, homologues) that train the prior beside the labeled rows.
    unlabeled: str | None = None
    objectives: list[ObjectiveConfig] = Field(default_factory=list)
    constraints: list[ConstraintConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _distinct_columns(self) -> DataConfig:
        single = len(self.objectives) == 1
        if single and not self.constraints and self.objectives[0].desirability is None:
            raise ValueError(
                "name two or more objectives, one with constraints or a desirability, or one score column "
                "(score_col) alone"
            )
        if self.constraints and not self.objectives:
            raise ValueError("constraints go with objectives: name the score as one (--objective COLUMN:max)")
        columns = [item.column for item in self.objectives] + [item.column for item in self.constraints]
        repeated = sorted({column for column in columns if columns.count(column) > 1})
        if repeated:
            raise ValueError(f"objective or constraint column(s) named twice: {', '.join(repeated)}")
        return self


class TaskConfig(Section):
    """A built-in benchmark task by registry name (see `genmbo tasks`)."""

    name: str | None = None


# What `null` means for the training settings below, by architecture: the convolutional VAE was tuned on
# Ehrlich s32-d64 (100% held-out exact reconstruction after ~500 steps of batch 128 with these settings;
# 34% with 2 latent channels per position, 87% with kl_weight 1e-3: `genmbo.models.sequence_vae`).
ARCHITECTURE_DEFAULTS: dict[str, dict[str, Any]] = {
    "convolutional": {"max_steps": 1000, "batch_size": 128, "kl_weight": 1e-4, "cosine_decay": True},
    "other": {"max_steps": 3000, "batch_size": 256, "kl_weight": 1e-3, "cosine_decay": False},
}


class AutoencoderConfig(Section):
    """The autoencoder of the prior. `kind: auto` picks a sequence VAE for token spaces, the identity map
    for vectors of at most `identity_max_dim` dimensions, and a vector VAE above that. A sequence VAE's
    `architecture: auto` is positionwise MLPs for fixed-length spaces of at most 32 tokens, convolutions
    for longer fixed-length spaces, and GRUs (autoregressive decoder) otherwise. `null` training settings
    take the architecture's defaults (`ARCHITECTURE_DEFAULTS`, applied by `with_defaults`)."""

    kind: Literal["auto", "sequence_vae", "vector_vae", "identity"] = "auto"
    architecture: Literal["auto", "gru", "positionwise", "convolutional"] = "auto"
    # auto: the shipped MOSES VAE for molecules in its vocabulary, otherwise train; a path loads that file.
    checkpoint: str | None = "auto"
    latent_dim: PositiveInt | None = None
    hidden_dim: PositiveInt = 256
    embedding_dim: PositiveInt = 32
    identity_max_dim: int = Field(64, ge=0)
    max_steps: PositiveInt | None = None
    batch_size: PositiveInt | None = None
    learning_rate: float = Field(4e-3, gt=0)
    kl_weight: float | None = Field(None, ge=0)
    kl_warmup_steps: int = Field(500, ge=0)
    free_bits: float = Field(0.0, ge=0)
    word_dropout: float = Field(0.0, ge=0, le=1)
    # Cosine decay of the learning rate to 5% over `max_steps` (sequence VAEs).
    cosine_decay: bool | None = None
    # Fixed-length spaces with a non-autoregressive decoder: decode only sequences whose consecutive tokens
    # follow each other somewhere in the offline data (`genmbo.models.transition_decoding`).
    observed_transitions_only: bool = True
    # The convolutional architecture: tokens per latent position, and channels of its convolutions.
    conv_stride: PositiveInt = 2
    conv_channels: PositiveInt = 32

    def with_defaults(self, architecture: str) -> AutoencoderConfig:
        """This config with every `null` training setting replaced by `architecture`'s default."""
        defaults = ARCHITECTURE_DEFAULTS["convolutional" if architecture == "convolutional" else "other"]
        return self.model_copy(
            update={name: value for name, value in defaults.items() if getattr(self, name) is None}
        )


class DiffusionConfig(Section):
    """The latent diffusion prior, conditioned on the score with classifier-free dropout (DDOM)."""

    # auto: the shipped MOSES diffusion when the shipped VAE is used and no score conditioning is needed
    checkpoint: str | None = "auto"
    hidden_dim: PositiveInt = 256
    num_blocks: PositiveInt = 3
    max_steps: PositiveInt = 1500
    batch_size: PositiveInt = 256
    learning_rate: float = Field(1e-3, gt=0)
    conditional: bool = True
    condition_dropout: float = Field(0.15, ge=0, le=1)
    # Above 0: sample with an exponential moving average of the denoiser's weights over training, with this
    # decay (`genmbo.models.weight_average`); 0: the last iterate.
    ema_decay: float = Field(0.0, ge=0, lt=1)
    # DDOM's training-data reweighting by a score histogram (conditional models only).
    reweight: bool = True
    # Train a loaded diffusion (a checkpoint, or the shipped one) further on this campaign's designs,
    # labeled and unlabeled, for `fine_tune_steps` at `fine_tune_learning_rate`.
    fine_tune: bool = False
    fine_tune_steps: PositiveInt = 500
    fine_tune_learning_rate: float = Field(1e-4, gt=0)


class PriorConfig(Section):
    autoencoder: AutoencoderConfig = Field(default_factory=AutoencoderConfig)
    diffusion: DiffusionConfig = Field(default_factory=DiffusionConfig)
    threads: PositiveInt = 1


SurrogateLoss = Literal["mse", "listnet", "coms"]


class SurrogateConfig(Section):
    """The ensemble surrogate. `batch_size` is rows per member per step; `list_length` the ListNet list
    size (a member batch holds `batch_size // list_length` lists, at least one); `coms_*` set the COMs
    penalty weight and its gradient ascent (step `coms_step_size * sqrt(latent_dim)`, standardized units).
    `members` is at least 2: the std across members is the surrogate's uncertainty. `hidden_dims` and
    `max_steps` are "auto" by default: chosen by the number of labeled rows
    (`genmbo.models.surrogates.sizing`). With `patience` set, training stops after that many validations
    (each a twentieth of the run) without a better Spearman on rows of its own and keeps the best
    weights; None (the default) trains every step."""

    checkpoint: str | None = None
    loss: SurrogateLoss = "mse"
    members: int = Field(5, ge=2)
    hidden_dims: Annotated[list[PositiveInt], Field(min_length=1)] | Literal["auto"] = "auto"
    max_steps: PositiveInt | Literal["auto"] = "auto"
    batch_size: PositiveInt = 256
    learning_rate: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    list_length: int = Field(256, ge=2)
    listnet_temperature: float = Field(1.0, gt=0)
    coms_alpha: float = Field(0.5, ge=0)
    coms_step_size: float = Field(0.05, gt=0)
    coms_steps: PositiveInt = 5
    patience: PositiveInt | None = None


class SearchChoice(BaseModel):
    """The search section as read: the method's name and its options, before they are checked against
    that method's own options model (`genmbo.search.options.search_options`), which replaces it."""

    model_config = ConfigDict(extra="allow", strict=True)

    method: str = DEFAULT_METHOD

    def options(self) -> dict[str, Any]:
        """The method's keyword options (everything but `method`), as plain values."""
        return self.model_dump(mode="json", exclude={"method"})


def default_search() -> SearchChoice:
    from genmbo.search.options import search_options

    return search_options(DEFAULT_METHOD)()


class ConstraintsConfig(Section):
    """Filters on decoded candidates, after the space's own checks (SMILES sanitization, alphabet,
    length, bounds), which always apply.

    `structural_alerts` names RDKit filter catalogs (PAINS, PAINS_A/B/C, BRENK, NIH, ZINC, CHEMBL, ...);
    `properties` maps RDKit descriptor names to ``[low, high]`` ranges, either end null for open, e.g.
    ``{MolWt: [null, 500], qed: [0.5, null]}``. Both apply to molecules only. `realism_quantile`
    (molecules; other spaces ignore it): reject candidates whose SA score is above this quantile of the
    offline designs', whose largest ring is larger than theirs, that match a PAINS alert, or that match
    a BRENK or NIH alert that fewer than `rare_alert_share` of them carry (`genmbo.selection.constraints`);
    null: off. `rare_alert_share` null keeps the other realism bounds and allows every BRENK and NIH alert.
    `cap_alert_shares` (with the realism filter): the library's designs carrying a BRENK (or an NIH) alert
    are at most the offline designs' share of them (`genmbo.selection.alert_quota`); false: no cap.
    """

    structural_alerts: list[str] = Field(default_factory=list)
    properties: dict[str, list[float | None]] = Field(default_factory=dict)
    realism_quantile: float | None = Field(0.9, gt=0, le=1)
    rare_alert_share: float | None = Field(0.01, gt=0, le=1)
    cap_alert_shares: bool = True
    exclude_offline: bool = True


class SelectionConfig(Section):
    """How the library is chosen from the search's larger pool (`genmbo.selection.diverse`). `kappa` is the
    campaign's one pessimism: designs are valued by ``mean - kappa * std`` of the surrogate when chosen,
    polished and ranked, and the flagship's guidance and the portfolio's ascents climb that value.
    `scalarizations` (several objectives only): how many Chebyshev weight vectors the search spreads its
    pool over (ParEGO, `genmbo.models.surrogates.objectives`); 1 searches the scalarization with the
    objectives' own weights alone, a single weighted desirability. `pool_rounds`: while the filtered pool
    cannot fill the library, the search proposes another `pool_factor * n_candidates`, up to this many
    rounds in all, stopping early at a round that admits nothing new; a run that samples across processes
    searches once (`genmbo.campaign.pool_rounds`); 1: one pool, a library that may fall short."""

    pool_factor: PositiveInt = 4
    pool_rounds: PositiveInt = 8
    shortlist_factor: float = Field(3.0, ge=1)
    diversity_weight: float = Field(0.3, ge=0, le=1)
    kappa: float = Field(1.0, ge=0)
    scalarizations: PositiveInt = 64


class StagesConfig(Section):
    """The pipeline's design stages (`genmbo.campaign.portfolio`, `genmbo.selection.polishing`), for every
    search method; null: the method's own choice (`SearchMethod.portfolio`, `SearchMethod.polish_rounds`:
    the flagship runs both, others none).

    `portfolio`: share of the library given to gradient ascents from the best offline designs, each its
    latest iterate whose design is new (0: off). `polish_rounds`: rounds of hill climbing of the chosen
    designs by single edits, valued by the design surrogate where the space has one (0: off).
    """

    portfolio: float | None = Field(None, ge=0, le=1)
    polish_rounds: int | None = Field(None, ge=0)


class DistributedConfig(Section):
    """Lightning's strategy, devices per node and node count for every training (prior, surrogate).

    `strategy: ddp` with `devices: 4` trains on four GPUs of one node; add `num_nodes` for a cluster
    (Lightning reads SLURM's or torchrun's environment). `devices` may be an integer or "auto".
    """

    strategy: str = "auto"
    devices: PositiveInt | Literal["auto"] = 1
    num_nodes: PositiveInt = 1


class RunConfig(Section):
    seed: int = Field(0, ge=0)
    n_candidates: PositiveInt = 128
    out: str | None = None
    checkpoint_every: PositiveInt = 250  # training steps between resumable checkpoints
    # torch threads: "auto" takes the cores other work leaves free (`genmbo.runtime.threads`)
    threads: PositiveInt | Literal["auto"] = "auto"


class GenmboConfig(Section):
    task: TaskConfig = Field(default_factory=TaskConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    prior: PriorConfig = Field(default_factory=PriorConfig)
    surrogate: SurrogateConfig = Field(default_factory=SurrogateConfig)
    search: SerializeAsAny[SearchChoice] = Field(default_factory=default_search)
    constraints: ConstraintsConfig = Field(default_factory=ConstraintsConfig)
    selection: SelectionConfig = Field(default_factory=SelectionConfig)
    stages: StagesConfig = Field(default_factory=StagesConfig)
    distributed: DistributedConfig = Field(default_factory=DistributedConfig)
    run: RunConfig = Field(default_factory=RunConfig)

    @field_validator("search", mode="before")
    @classmethod
    def _method_options(cls, value: Any) -> Any:
        """A search section given as a mapping is checked against its method's options model, however
        the config is built (`from_mapping`, or `model_validate` directly)."""
        return search_section(value) if isinstance(value, dict) else value


def load_config(path: str | Path | None, overrides: Iterable[str] = ()) -> GenmboConfig:
    """Read, compose and check a YAML config file (None: the defaults), with `overrides` (``KEY=VALUE``)
    written over it."""
    raw = read_raw(path) if path is not None else {}
    return from_mapping(GenmboConfig, with_overrides(raw, overrides), source=str(path or "command line"))


def read_raw(path: str | Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A config file as nested dicts, its `include:` files merged beneath its own keys, unchecked."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    if path.resolve() in seen:
        raise ConfigError(f"{path}: includes itself (through {' -> '.join(map(str, seen))})")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML{where}: {getattr(error, 'problem', error)}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file") from None
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys to values, got {_describe(raw)}")
    includes = raw.pop("include", [])
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(item, str) for item in includes):
        raise ConfigError(
            f"{path}: 'include' must be a file name or a list of them, got {_describe(includes)}"
        )
    merged: dict[str, Any] = {}
    for include in includes:
        included = path.parent / include
        if not included.is_file():
            raise ConfigError(f"{included}: no such config file (included by {path})")
        merged = deep_merge(merged, read_raw(included, (*seen, path.resolve())))
    return deep_merge(merged, raw)


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """`top` written over `base`, mapping by mapping; a search section naming another method replaces the
    base's search section whole (its options belong to the other method)."""
    merged = dict(base)
    for key, value in top.items():
        old = merged.get(key)
        if key == "search" and isinstance(old, dict) and isinstance(value, dict):
            method = old.get("method", DEFAULT_METHOD)
            if value.get("method", method) != method:
                merged[key] = dict(value)
                continue
        merged[key] = deep_merge(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return merged


def with_overrides(raw: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """`raw` with each ``KEY=VALUE`` written over it: dotted keys, values parsed as YAML."""
    for override in overrides:
        key, equals, text = override.partition("=")
        if not equals or not key.strip():
            raise ConfigError(f"--set {override!r}: expected KEY=VALUE, e.g. --set search.scale=2")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ConfigError(f"--set {override!r}: the value is not valid YAML") from None
        if any(not part for part in key.strip().split(".")):
            raise ConfigError(f"--set {override!r}: a dotted key has an empty part")
        if isinstance(value, str):
            value = _number_or_text(value)
        raw = deep_merge(raw, nested(key.strip(), value))  # a null value is written too
    return raw


def with_values(raw: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """`raw` with each value of `values` that is not None written at its dotted key."""
    for key, value in values.items():
        if value is not None:
            raw = deep_merge(raw, nested(key, value))
    return raw


def _number_or_text(text: str) -> Any:
    # YAML 1.1 (PyYAML) reads `1e-3` as a string; on the command line it is the number everyone means.
    try:
        return float(text)
    except ValueError:
        return text


def nested(key: str, value: Any) -> dict[str, Any]:
    """``nested("search.scale", 2)`` is ``{"search": {"scale": 2}}``."""
    update: Any = value
    for part in reversed(key.split(".")):
        update = {part: update}
    return update


def from_mapping(schema: type[T], raw: Any, source: str = "config") -> T:
    """Build and check the model `schema` from nested dicts; a `GenmboConfig`'s search section becomes
    its method's options model. Any problem is one `ConfigError` line."""
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{source}: the top level must be a mapping of keys to values, got {_describe(raw)}"
        )
    raw = _empty_sections(schema, raw)
    try:
        return schema.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(f"{source}: {_first_error(schema, error)}") from None
    except ConfigError as error:  # the search section's own check (`GenmboConfig._method_options`)
        raise ConfigError(f"{source}: {error}") from None


def _empty_sections(schema: type[BaseModel], raw: dict[str, Any]) -> dict[str, Any]:
    """`raw` with a section left null (every key commented out) read as an empty one: its defaults."""
    cleaned = {}
    for key, value in raw.items():
        field = schema.model_fields.get(key) if isinstance(key, str) else None
        model = _model_of(field.annotation) if field is not None else None
        if model is not None and value is None:
            value = {}
        if model is not None and isinstance(value, dict):
            value = _empty_sections(model, value)
        cleaned[key] = value
    return cleaned


def search_section(raw: Any, source: str | None = None) -> SearchChoice:
    """The search section `raw` checked against its method's options model; errors name `source`."""
    from genmbo.search.options import search_options

    where = f"{source}: " if source else ""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}key 'search' must be a mapping of keys to values, got {_describe(raw)}")
    raw = {"method": DEFAULT_METHOD, **raw}
    if "options" in raw:
        raise ConfigError(
            f"{where}a method's options sit in the search section itself, e.g. "
            "search: {method: guided_diffusion, scale: 2}, not under search.options"
        )
    try:
        model = search_options(raw["method"])
    except ConfigError as error:
        raise ConfigError(f"{where}{error}") from None
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(f"{where}{_first_error(model, error, prefix='search.')}") from None


def _first_error(schema: type[BaseModel], error: ValidationError, prefix: str = "") -> str:
    """One line for the first problem pydantic found: the key, what it must be, what it was."""
    problem = error.errors(include_url=False)[0]
    model, names = _walk(schema, problem["loc"])
    name = (prefix + ".".join(names)).rstrip(".")
    kind, value = problem["type"], problem.get("input")
    if kind == "extra_forbidden":
        valid = list(model.model_fields) if model is not None else []
        parent = name.rpartition(".")[0]
        parent = f"{parent}." if parent else ""
        nearest = difflib.get_close_matches(names[-1], valid, n=1, cutoff=0.5)
        hint = f" (did you mean '{parent}{nearest[0]}'?)" if nearest else ""
        choices = ", ".join(f"'{parent}{key}'" for key in valid) or "(none)"
        return f"unknown config key '{name}'{hint}; valid keys here: {choices}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"key '{name}' must be a mapping of keys to values, got {_describe(value)}"
    if kind == "value_error":
        option = getattr(problem.get("ctx", {}).get("error"), "option", None)  # `RejectedOption`
        key = f"{name}.{option}" if option else name
        return f"config key '{key}': {str(problem['msg']).removeprefix('Value error, ')}"
    bounds = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}
    if kind in bounds:
        bound = next(iter(problem.get("ctx", {}).values()))
        return f"config key '{name}' must be {bounds[kind]} {bound}, got {value!r}"
    expected = {
        "int_type": "an integer",
        "int_from_float": "an integer",
        "float_type": "a number",
        "bool_type": "true or false",
        "string_type": "a string",
        "list_type": "a list",
        "too_short": "a non-empty list",
    }
    if kind in expected:
        return f"config key '{name}' must be {expected[kind]}, got {_describe(value)}"
    if kind == "literal_error":
        return f"config key '{name}' must be one of {problem['ctx']['expected']}, got {value!r}"
    return f"config key '{name}': {problem['msg']}, got {_describe(value)}"


def _walk(schema: type[BaseModel], loc: tuple[Any, ...]) -> tuple[type[BaseModel] | None, list[str]]:
    """The model holding the last key of `loc`, and the key names along `loc`: pydantic's own tags for
    union members and constrained types are dropped, list indices kept as `[i]`, mapping keys kept."""
    model: type[BaseModel] | None = schema
    holder: type[BaseModel] | None = schema
    keys_next = False  # the previous key was a mapping whose keys are the user's own
    names: list[str] = []
    for position, part in enumerate(loc):
        if isinstance(part, int):
            if names:
                names[-1] += f"[{part}]"
        elif model is not None and part in model.model_fields:
            holder = model
            names.append(str(part))
            annotation = model.model_fields[part].annotation
            model = _model_of(annotation)
            keys_next = model is None and _is_mapping(annotation)
        elif keys_next or (position == len(loc) - 1 and model is not None):
            names.append(str(part))  # a mapping's own key, or the unknown key itself
            holder = model if model is not None else holder
            keys_next = False
    return holder, names


def _is_mapping(annotation: Any) -> bool:
    return typing.get_origin(annotation) is dict or any(_is_mapping(a) for a in typing.get_args(annotation))


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = _model_of(argument)
        if found is not None:
            return found
    return None


def _describe(value: Any) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {value!r}"[:80]


def to_mapping(config: BaseModel) -> dict[str, Any]:
    """A config as plain nested dicts and lists (for saving beside a run's outputs, and as YAML)."""
    return config.model_dump(mode="json")
