"""Typed configuration read from YAML: every key checked, unknown keys named with the nearest valid one.

A config is a tree of dataclasses (`GenmboConfig` and its sections). `load_config` reads YAML with the
safe loader (no Python objects can be constructed from a file) and `from_mapping` validates it: an unknown
key, a value of the wrong type or outside its allowed set stops with one `ConfigError` line.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from genmbo.errors import ConfigError

T = TypeVar("T")


@dataclass
class DataConfig:
    """The user's own offline data (`genmbo design --data ...`)."""

    path: str | None = None
    space: Literal["molecules", "sequence", "continuous"] | None = None
    design_col: str | None = None
    score_col: str | None = None
    minimize: bool = False
    alphabet: str | None = None
    lower: float | None = None
    upper: float | None = None


@dataclass
class TaskConfig:
    """A built-in benchmark task by registry name (see `genmbo tasks`)."""

    name: str | None = None


# What `null` means for the training settings below, by architecture: the convolutional VAE was tuned on
# Ehrlich s32-d64 (100% held-out exact reconstruction after ~500 steps of batch 128 with these settings;
# 34% with 2 latent channels per position, 87% with kl_weight 1e-3: `genmbo.models.sequence_vae`).
ARCHITECTURE_DEFAULTS: dict[str, dict[str, Any]] = {
    "convolutional": {"max_steps": 1000, "batch_size": 128, "kl_weight": 1e-4, "cosine_decay": True},
    "other": {"max_steps": 3000, "batch_size": 256, "kl_weight": 1e-3, "cosine_decay": False},
}


@dataclass
class AutoencoderConfig:
    """The autoencoder of the prior. `kind: auto` picks a sequence VAE for token spaces, the identity map
    for vectors of at most `identity_max_dim` dimensions, and a vector VAE above that. A sequence VAE's
    `architecture: auto` is positionwise MLPs for fixed-length spaces of at most 32 tokens, convolutions
    for longer fixed-length spaces, and GRUs (autoregressive decoder) otherwise. `null` training settings
    take the architecture's defaults (`ARCHITECTURE_DEFAULTS`)."""

    kind: Literal["auto", "sequence_vae", "vector_vae", "identity"] = "auto"
    architecture: Literal["auto", "gru", "positionwise", "convolutional"] = "auto"
    # auto: the shipped MOSES VAE for molecules in its vocabulary, otherwise train; a path loads that file.
    checkpoint: str | None = "auto"
    latent_dim: int | None = None
    hidden_dim: int = 256
    embedding_dim: int = 32
    identity_max_dim: int = 64
    max_steps: int | None = None
    batch_size: int | None = None
    learning_rate: float = 4e-3
    kl_weight: float | None = None
    kl_warmup_steps: int = 500
    free_bits: float = 0.0
    word_dropout: float = 0.0
    # Cosine decay of the learning rate to 5% over `max_steps` (sequence VAEs).
    cosine_decay: bool | None = None
    # Fixed-length spaces with a non-autoregressive decoder: decode only sequences whose consecutive tokens
    # follow each other somewhere in the offline data (`genmbo.models.transition_decoding`).
    observed_transitions_only: bool = True
    # The convolutional architecture: tokens per latent position, and channels of its convolutions.
    conv_stride: int = 2
    conv_channels: int = 32

    def __post_init__(self) -> None:
        for name in ("conv_stride", "conv_channels", "max_steps", "batch_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"prior.autoencoder.{name} must be >= 1, got {value}")
        if self.kl_weight is not None and self.kl_weight < 0:
            raise ConfigError(f"prior.autoencoder.kl_weight must be >= 0, got {self.kl_weight}")

    def with_defaults(self, architecture: str) -> AutoencoderConfig:
        """This config with every `null` training setting replaced by `architecture`'s default."""
        defaults = ARCHITECTURE_DEFAULTS["convolutional" if architecture == "convolutional" else "other"]
        return dataclasses.replace(
            self, **{name: value for name, value in defaults.items() if getattr(self, name) is None}
        )


@dataclass
class DiffusionConfig:
    """The latent diffusion prior, conditioned on the score with classifier-free dropout (DDOM)."""

    # auto: the shipped MOSES diffusion when the shipped VAE is used and no score conditioning is needed
    checkpoint: str | None = "auto"
    hidden_dim: int = 256
    num_blocks: int = 3
    max_steps: int = 1500
    batch_size: int = 256
    learning_rate: float = 1e-3
    conditional: bool = True
    condition_dropout: float = 0.15
    # DDOM's training-data reweighting by a score histogram (conditional models only).
    reweight: bool = True


@dataclass
class PriorConfig:
    autoencoder: AutoencoderConfig = field(default_factory=AutoencoderConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    threads: int = 1


SurrogateLoss = Literal["mse", "listnet", "coms"]


@dataclass
class SurrogateConfig:
    """The ensemble surrogate. `batch_size` is rows per member per step; `list_length` the ListNet list
    size (a member batch holds `batch_size // list_length` lists, at least one); `coms_*` set the COMs
    penalty weight and its gradient ascent (step `coms_step_size * sqrt(latent_dim)`, standardized units)."""

    checkpoint: str | None = None
    loss: SurrogateLoss = "mse"
    members: int = 5
    hidden_dims: list[int] = field(default_factory=lambda: [256, 256])
    max_steps: int = 2000
    batch_size: int = 256
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    list_length: int = 256
    listnet_temperature: float = 1.0
    coms_alpha: float = 0.5
    coms_step_size: float = 0.05
    coms_steps: int = 5

    def __post_init__(self) -> None:
        # std across members needs two of them; everything else must be a positive count or size.
        minimums = {"members": 2, "max_steps": 1, "batch_size": 1, "list_length": 2, "coms_steps": 1}
        for name, minimum in minimums.items():
            if getattr(self, name) < minimum:
                raise ConfigError(f"surrogate.{name} must be at least {minimum}, got {getattr(self, name)}")
        if not self.hidden_dims or min(self.hidden_dims) < 1:
            raise ConfigError(f"surrogate.hidden_dims must be positive widths, got {self.hidden_dims}")
        for name in ("learning_rate", "listnet_temperature", "coms_step_size"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"surrogate.{name} must be positive, got {getattr(self, name)}")
        if self.coms_alpha < 0 or self.weight_decay < 0:
            raise ConfigError("surrogate.coms_alpha and surrogate.weight_decay must be non-negative")


@dataclass
class SearchConfig:
    """The search method (see `genmbo.search.registry`) and its options, e.g. `{scale: 2.0, kappa: 1.0}`."""

    method: str = "guided_diffusion"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class ConstraintsConfig:
    """Filters on decoded candidates, after the space's own checks (SMILES sanitization, alphabet,
    length, bounds), which always apply.

    `structural_alerts` names RDKit filter catalogs (PAINS, PAINS_A/B/C, BRENK, NIH, ZINC, CHEMBL, ...);
    `properties` maps RDKit descriptor names to ``[low, high]`` ranges, either end null for open, e.g.
    ``{MolWt: [null, 500], qed: [0.5, null]}``. Both apply to molecules only.
    """

    structural_alerts: list[str] = field(default_factory=list)
    properties: dict[str, list[float | None]] = field(default_factory=dict)
    exclude_offline: bool = True


@dataclass
class SelectionConfig:
    """How the library's candidates are chosen from the search's larger pool (`genmbo.selection`)."""

    pool_factor: int = 4
    shortlist_factor: float = 3.0
    diversity_weight: float = 0.3
    kappa: float = 1.0

    def __post_init__(self) -> None:
        if self.pool_factor < 1:
            raise ConfigError(f"selection.pool_factor must be >= 1, got {self.pool_factor}")
        if self.shortlist_factor < 1:
            raise ConfigError(f"selection.shortlist_factor must be >= 1, got {self.shortlist_factor}")
        if not 0 <= self.diversity_weight <= 1:
            raise ConfigError(f"selection.diversity_weight must be in [0, 1], got {self.diversity_weight}")
        if self.kappa < 0:
            raise ConfigError(f"selection.kappa must be >= 0, got {self.kappa}")


@dataclass
class StagesConfig:
    """The pipeline's design stages (`genmbo.stages`), for every search method; null: the method's own
    choice (`SearchMethod.portfolio`, `SearchMethod.polish_rounds`: the flagship runs both, others none).

    `portfolio`: share of the library given to gradient ascents from the best offline designs, each its
    latest iterate whose design is new (0: off). `polish_rounds`: rounds of hill climbing of the chosen
    designs by single edits, valued by the design surrogate where the space has one (0: off).
    """

    portfolio: float | None = None
    polish_rounds: int | None = None

    def __post_init__(self) -> None:
        if self.portfolio is not None and not 0 <= self.portfolio <= 1:
            raise ConfigError(f"stages.portfolio must be in [0, 1], got {self.portfolio}")
        if self.polish_rounds is not None and self.polish_rounds < 0:
            raise ConfigError(f"stages.polish_rounds must be >= 0, got {self.polish_rounds}")


@dataclass
class DistributedConfig:
    """Lightning's strategy, devices per node and node count for every training (prior, surrogate).

    `strategy: ddp` with `devices: 4` trains on four GPUs of one node; add `num_nodes` for a cluster
    (Lightning reads SLURM's or torchrun's environment). `devices` may be an integer or "auto".
    """

    strategy: str = "auto"
    devices: int | str = 1
    num_nodes: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.devices, int) and self.devices < 1 or self.num_nodes < 1:
            raise ConfigError("distributed.devices and distributed.num_nodes must be at least 1")
        if isinstance(self.devices, str) and self.devices != "auto":
            raise ConfigError(f"distributed.devices must be an integer or 'auto', got {self.devices!r}")


@dataclass
class RunConfig:
    seed: int = 0
    n_candidates: int = 128
    out: str | None = None
    checkpoint_every: int = 250  # training steps between resumable checkpoints

    def __post_init__(self) -> None:
        if self.n_candidates < 1:
            raise ConfigError(f"run.n_candidates must be at least 1, got {self.n_candidates}")
        if self.checkpoint_every < 1:
            raise ConfigError(f"run.checkpoint_every must be at least 1, got {self.checkpoint_every}")
        if self.seed < 0:
            raise ConfigError(f"run.seed must be non-negative, got {self.seed}")


@dataclass
class GenmboConfig:
    task: TaskConfig = field(default_factory=TaskConfig)
    data: DataConfig = field(default_factory=DataConfig)
    prior: PriorConfig = field(default_factory=PriorConfig)
    surrogate: SurrogateConfig = field(default_factory=SurrogateConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    constraints: ConstraintsConfig = field(default_factory=ConstraintsConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    stages: StagesConfig = field(default_factory=StagesConfig)
    distributed: DistributedConfig = field(default_factory=DistributedConfig)
    run: RunConfig = field(default_factory=RunConfig)


def load_config(path: str | Path, schema: type[T] = GenmboConfig) -> T:
    """Read and validate a YAML config file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML{where}: {getattr(error, 'problem', error)}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file") from None
    return from_mapping(schema, {} if raw is None else raw, source=str(path))


def from_mapping(schema: type[T], raw: Any, source: str = "config", prefix: str = "") -> T:
    """Build the dataclass `schema` from nested dicts, rejecting unknown keys and mistyped values."""
    if not isinstance(raw, dict):
        where = f"key '{prefix.rstrip('.')}'" if prefix else "the top level"
        raise ConfigError(f"{source}: {where} must be a mapping of keys to values, got {_describe(raw)}")
    fields = {spec.name: spec for spec in dataclasses.fields(schema)}
    hints = typing.get_type_hints(schema)
    values = {}
    for key, value in raw.items():
        name = f"{prefix}{key}"
        if key not in fields:
            nearest = difflib.get_close_matches(str(key), list(fields), n=1, cutoff=0.5)
            hint = f" (did you mean '{prefix}{nearest[0]}'?)" if nearest else ""
            valid = ", ".join(f"'{prefix}{valid_key}'" for valid_key in fields)
            raise ConfigError(f"{source}: unknown config key '{name}'{hint}; valid keys here: {valid}")
        values[key] = _convert(hints[key], value, source, name)
    return schema(**values)


def _convert(annotation: Any, value: Any, source: str, name: str) -> Any:
    if dataclasses.is_dataclass(annotation):
        return from_mapping(annotation, {} if value is None else value, source, f"{name}.")
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in arguments:
            return None
        errors = []
        for option in (argument for argument in arguments if argument is not type(None)):
            try:
                return _convert(option, value, source, name)
            except ConfigError as error:
                errors.append(error)
        raise errors[0]
    if origin is Literal:
        if value not in arguments:
            allowed = ", ".join(repr(argument) for argument in arguments)
            raise ConfigError(f"{source}: config key '{name}' must be one of {allowed}, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{source}: config key '{name}' must be a list, got {_describe(value)}")
        return [_convert(arguments[0], item, source, f"{name}[{index}]") for index, item in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: config key '{name}' must be a mapping, got {_describe(value)}")
        return {
            str(key): _convert(arguments[1], item, source, f"{name}.{key}") for key, item in value.items()
        }
    return _convert_scalar(annotation, value, source, name)


def _convert_scalar(annotation: Any, value: Any, source: str, name: str) -> Any:
    # bool is a subclass of int in Python; `n_candidates: true` must not pass as 1.
    if annotation is bool and isinstance(value, bool):
        return value
    if annotation is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if annotation is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if annotation is str and isinstance(value, str):
        return value
    if annotation is Any:
        return value
    expected = getattr(annotation, "__name__", str(annotation))
    raise ConfigError(f"{source}: config key '{name}' must be {_article(expected)}, got {_describe(value)}")


def _article(type_name: str) -> str:
    words = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a string"}
    return words.get(type_name, f"a {type_name}")


def _describe(value: Any) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {value!r}"[:80]


def to_mapping(config: Any) -> dict[str, Any]:
    """A config as plain nested dicts (for saving beside a run's outputs)."""
    return dataclasses.asdict(config)
