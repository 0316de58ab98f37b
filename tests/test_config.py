from pathlib import Path

import pytest
import yaml

from genmbo.config import (
    AutoencoderConfig,
    GenmboConfig,
    from_mapping,
    load_config,
    read_raw,
    to_mapping,
    with_overrides,
)
from genmbo.errors import ConfigError
from genmbo.search.options import search_options
from genmbo.search.registry import SEARCH_METHODS

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_the_shipped_default_config_is_the_schemas_defaults():
    assert to_mapping(load_config(CONFIGS / "default.yaml")) == to_mapping(GenmboConfig())


@pytest.mark.parametrize("section", ["prior", "surrogate"])
def test_each_component_file_holds_its_sections_defaults(section):
    raw = yaml.safe_load((CONFIGS / f"{section}.yaml").read_text())
    assert raw == {section: to_mapping(GenmboConfig())[section]}


def test_the_selection_file_holds_the_defaults_of_constraints_selection_and_stages():
    raw = yaml.safe_load((CONFIGS / "selection.yaml").read_text())
    defaults = to_mapping(GenmboConfig())
    assert raw == {key: defaults[key] for key in ("constraints", "selection", "stages")}


@pytest.mark.parametrize("method", sorted(SEARCH_METHODS))
def test_every_method_has_a_file_of_its_default_options(method):
    raw = yaml.safe_load((CONFIGS / "search" / f"{method}.yaml").read_text())
    assert raw == {"search": search_options(method)().model_dump(mode="json")}
    config = from_mapping(GenmboConfig, raw)
    assert config.search.method == method


def test_values_are_converted_and_checked():
    config = from_mapping(GenmboConfig, {"run": {"seed": 3}, "data": {"lower": 1, "space": "molecules"}})
    assert config.run.seed == 3 and config.data.lower == 1.0 and config.data.space == "molecules"
    assert isinstance(config.data.lower, float)


def test_search_options_are_the_methods_own():
    config = from_mapping(GenmboConfig, {"search": {"method": "genetic", "population_size": 20}})
    assert config.search.method == "genetic" and config.search.options()["population_size"] == 20
    assert config.search.options()["generations"] == 50  # the constructor's default
    flagship = from_mapping(GenmboConfig, {"search": {"scale": 2, "policy": {"updates": 8}}})
    assert flagship.search.options()["scale"] == 2.0
    assert flagship.search.options()["policy"]["updates"] == 8
    assert from_mapping(GenmboConfig, {"search": {"policy": None}}).search.options()["policy"] is None


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
        ({"run": {"n_candidates": -4}}, "config key 'run.n_candidates' must be >= 1, got -4"),
        (
            {"data": {"space": "proteins"}},
            "config key 'data.space' must be one of 'molecules', 'sequence' or 'continuous'",
        ),
        ({"data": {"minimize": "yes"}}, "config key 'data.minimize' must be true or false"),
        ({"run": [1, 2]}, "key 'run' must be a mapping"),
        ([1, 2], "the top level must be a mapping"),
        ({"prior": {"autoencoder": {"conv_stride": 0}}}, "'prior.autoencoder.conv_stride' must be >= 1"),
        ({"surrogate": {"hidden_dims": [256, 0]}}, "'surrogate.hidden_dims[1]' must be >= 1, got 0"),
        ({"distributed": {"devices": "many"}}, "'distributed.devices'"),
        (
            {"constraints": {"properties": {"MolWt": ["x"]}}},
            "'constraints.properties.MolWt[0]' must be a number",
        ),
        ({"search": {"method": "magic"}}, "unknown search method 'magic'"),
        ({"search": {"method": "genetik"}}, "did you mean 'genetic'?"),
        ({"search": {"scael": 2}}, "unknown config key 'search.scael' (did you mean 'search.scale'?)"),
        ({"search": {"scale": -1}}, "config key 'search.scale': scale must be >= 0, got -1"),
        ({"search": {"sampler": "euler"}}, "'search.sampler' must be one of 'ddim' or 'ddpm'"),
        (
            {"search": {"policy": {"updatez": 3}}},
            "'search.policy.updatez' (did you mean 'search.policy.updates'?)",
        ),
        ({"search": {"method": "best_offline", "kappa": 1}}, "valid keys here: 'search.method'"),
        ({"search": {"method": "genetic", "population_size": "many"}}, "must be an integer, got str 'many'"),
    ],
)
def test_invalid_configs_name_the_key(raw, message):
    with pytest.raises(ConfigError) as caught:
        from_mapping(GenmboConfig, raw, source="c.yaml")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_overrides_are_dotted_keys_with_yaml_values():
    raw = with_overrides({"run": {"seed": 1}}, ["search.scale=2", "run.n_candidates=16", "selection.kappa=0"])
    config = from_mapping(GenmboConfig, raw)
    assert config.search.options()["scale"] == 2.0 and config.run.n_candidates == 16 and config.run.seed == 1
    assert config.selection.kappa == 0.0
    both = from_mapping(GenmboConfig, with_overrides({}, ["search.scale=2", "search.policy=null"]))
    assert both.search.options()["scale"] == 2.0 and both.search.options()["policy"] is None
    listed = from_mapping(GenmboConfig, with_overrides({}, ["constraints.structural_alerts=[PAINS, BRENK]"]))
    assert listed.constraints.structural_alerts == ["PAINS", "BRENK"]
    with pytest.raises(ConfigError, match="unknown config key 'search.scael' \\(did you mean 'search.scale'"):
        from_mapping(GenmboConfig, with_overrides({}, ["search.scael=2"]))
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        with_overrides({}, ["search.scale"])


def test_another_method_replaces_the_search_section_whole(tmp_path):
    (tmp_path / "exp.yaml").write_text(f"include: {CONFIGS / 'default.yaml'}\nsearch: {{method: genetic}}\n")
    config = load_config(tmp_path / "exp.yaml")
    assert config.search.method == "genetic" and "scale" not in config.search.options()
    switched = load_config(CONFIGS / "default.yaml", ["search.method=gradient_ascent"])
    assert switched.search.method == "gradient_ascent"


def test_includes_merge_beneath_the_files_own_keys(tmp_path):
    (tmp_path / "a.yaml").write_text("run: {seed: 1, n_candidates: 8}\n")
    (tmp_path / "b.yaml").write_text("include: [a.yaml]\nrun: {seed: 2}\n")
    config = load_config(tmp_path / "b.yaml")
    assert (config.run.seed, config.run.n_candidates) == (2, 8)
    (tmp_path / "loop.yaml").write_text("include: loop.yaml\n")
    with pytest.raises(ConfigError, match="includes itself"):
        read_raw(tmp_path / "loop.yaml")
    (tmp_path / "bad.yaml").write_text("include: {a: 1}\n")
    with pytest.raises(ConfigError, match="'include' must be a file name or a list"):
        read_raw(tmp_path / "bad.yaml")


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


def test_command_line_values_keys_and_sections_people_actually_write(tmp_path):
    config = from_mapping(GenmboConfig, with_overrides({}, ["surrogate.learning_rate=1e-3", "run.out=1e3x"]))
    assert config.surrogate.learning_rate == 0.001 and config.run.out == "1e3x"
    with pytest.raises(ConfigError, match="a dotted key has an empty part"):
        with_overrides({}, ["run..seed=1"])
    # A section whose keys are all commented out is null in YAML: its defaults.
    assert to_mapping(from_mapping(GenmboConfig, {"search": None, "run": None})) == to_mapping(GenmboConfig())
    with pytest.raises(ConfigError, match="sit in the search section itself"):
        from_mapping(GenmboConfig, {"search": {"options": {"scale": 2}}})
    (tmp_path / "e.yaml").write_text("include: [gone.yaml]\n")
    with pytest.raises(ConfigError, match="gone.yaml: no such config file \\(included by .*e.yaml\\)"):
        read_raw(tmp_path / "e.yaml")


def test_setting_one_policy_key_keeps_the_flagships_other_policy_defaults():
    config = from_mapping(GenmboConfig, with_overrides({}, ["search.policy.updates=100"]))
    policy = config.search.options()["policy"]
    assert policy["updates"] == 100 and policy["percentiles"] == [20.0]  # one pool, not PGS's four
    assert policy["checkpoint_every"] == 100 and policy["trajectories"] == 500  # the flagship's, PGS's
    assert policy["spaces"] == ["sequence"]  # trained on sequence spaces only
    anywhere = from_mapping(GenmboConfig, with_overrides({}, ["search.policy.spaces=[molecules, sequence]"]))
    assert anywhere.search.options()["policy"]["spaces"] == ["molecules", "sequence"]


def test_model_validate_checks_the_search_section_too():
    with pytest.raises(ConfigError, match="unknown config key 'search.scael'"):
        GenmboConfig.model_validate({"search": {"method": "guided_diffusion", "scael": 2}})
    config = GenmboConfig.model_validate({"search": {"method": "gradient_ascent"}})
    assert type(config.search).__name__ == "GradientAscentOptions"
