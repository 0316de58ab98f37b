import pytest

from genmbo.config import AutoencoderConfig, GenmboConfig, from_mapping, load_config
from genmbo.errors import ConfigError


def test_defaults_and_shipped_config_load(tmp_path):
    config = load_config("configs/default.yaml")
    assert isinstance(config, GenmboConfig)
    assert config.run.n_candidates == 128


def test_values_are_converted_and_checked():
    config = from_mapping(GenmboConfig, {"run": {"seed": 3}, "data": {"lower": 1, "space": "molecules"}})
    assert config.run.seed == 3 and config.data.lower == 1.0 and config.data.space == "molecules"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"rnu": {}}, "unknown config key 'rnu' (did you mean 'run'?)"),
        (
            {"run": {"n_candidate": 5}},
            "unknown config key 'run.n_candidate' (did you mean 'run.n_candidates'?)",
        ),
        (
            {"run": {"n_candidates": "many"}},
            "config key 'run.n_candidates' must be an integer, got str 'many'",
        ),
        ({"run": {"n_candidates": True}}, "must be an integer, got bool True"),
        ({"run": {"n_candidates": -4}}, "run.n_candidates must be at least 1, got -4"),
        (
            {"data": {"space": "proteins"}},
            "config key 'data.space' must be one of 'molecules', 'sequence', 'continuous'",
        ),
        ({"data": {"minimize": "yes"}}, "config key 'data.minimize' must be true or false"),
        ({"run": [1, 2]}, "key 'run' must be a mapping"),
        ([1, 2], "the top level must be a mapping"),
    ],
)
def test_invalid_configs_name_the_key(raw, message):
    with pytest.raises(ConfigError) as caught:
        from_mapping(GenmboConfig, raw, source="c.yaml")
    assert message in str(caught.value)


def test_yaml_problems(tmp_path):
    (tmp_path / "bad.yaml").write_text("run: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "none.yaml")
    # The safe loader refuses to build Python objects from tags.
    (tmp_path / "evil.yaml").write_text("run: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "evil.yaml")


def test_autoencoder_training_settings_default_by_architecture():
    config = AutoencoderConfig()
    convolutional = config.with_defaults("convolutional")
    assert (convolutional.max_steps, convolutional.batch_size) == (1000, 128)
    assert (convolutional.kl_weight, convolutional.cosine_decay) == (1e-4, True)
    other = config.with_defaults("positionwise")
    assert (other.max_steps, other.batch_size, other.kl_weight, other.cosine_decay) == (
        3000,
        256,
        1e-3,
        False,
    )
    assert config.with_defaults("vector") == other
    explicit = AutoencoderConfig(max_steps=7, kl_weight=0.5, cosine_decay=False).with_defaults(
        "convolutional"
    )
    assert (explicit.max_steps, explicit.kl_weight, explicit.cosine_decay, explicit.batch_size) == (
        7,
        0.5,
        False,
        128,
    )
    with pytest.raises(ConfigError, match="prior.autoencoder.conv_stride must be >= 1"):
        from_mapping(GenmboConfig, {"prior": {"autoencoder": {"conv_stride": 0}}})
