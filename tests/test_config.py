"""Config dataclasses: bounds, JSON round-trip, overrides, unique option names."""

import json
from collections import Counter

import pytest

from rnnapps.config import iter_options
from rnnapps.errors import UsageError
from rnnapps.tasks.regression import RegressionConfig
from rnnapps.tasks.sentiment import SentimentConfig
from rnnapps.tasks.textgen import TextgenConfig


def test_json_round_trip(tmp_path):
    config = SentimentConfig().replace(units=64, cell="gru", bidirectional=True, clip_norm=1.0)
    config.save(tmp_path / "config.json")
    loaded = SentimentConfig.load(tmp_path / "config.json")
    assert loaded == config
    assert json.loads((tmp_path / "config.json").read_text())["task"] == "sentiment"


@pytest.mark.parametrize("overrides, message", [
    ({"units": 0}, "units must be >= 1, got 0"),
    ({"cell": "transformer"}, "cell must be one of"),
    ({"dropout": 1.0}, "dropout must be < 1.0"),
    ({"max_tokens": 2}, "max_tokens must be >= 3"),
    ({"epochs": -1}, "epochs must be >= 1"),
    ({"colour": "red"}, "unknown option(s) for sentiment: colour"),
])
def test_bad_values_name_the_field(overrides, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        SentimentConfig().replace(**overrides)


@pytest.mark.parametrize("raw, message", [
    ({"task": "textgen"}, "config is for task 'textgen'"),
    ({"model": {"units": "many"}}, "units must be int"),
    ({"model": {"layers": True}}, "layers must be int"),
    ({"model": {"wings": 2}}, "unknown config key"),
    ({"optimizer": {}}, "unknown config section"),
    ([1, 2], "must be a JSON object"),
])
def test_bad_json_configs(raw, message):
    with pytest.raises(UsageError, match=message):
        SentimentConfig.from_dict(raw)


def test_ints_are_accepted_for_floats_and_partial_sections_keep_defaults():
    config = SentimentConfig.from_dict({"train": {"learning_rate": 1}, "model": {"units": 7}})
    assert config.train.learning_rate == 1.0 and isinstance(config.train.learning_rate, float)
    assert config.model.units == 7 and config.model.cell == "lstm"


def test_unreadable_config_file(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(UsageError, match="cannot read config"):
        SentimentConfig.load(tmp_path / "bad.json")
    with pytest.raises(UsageError, match="config file not found"):
        SentimentConfig.load(tmp_path / "missing.json")


def test_option_names_are_unique_across_sections():
    names = Counter(name for _, name, *_ in iter_options(SentimentConfig))
    assert [n for n, count in names.items() if count > 1] == []


def test_optional_options_can_be_turned_off_from_the_command_line():
    from rnnapps.cli import build_parser, config_from_args

    args = build_parser().parse_args(["regression", "train", "--patience", "none",
                                      "--clip-norm", "2.5"])
    config = config_from_args(args, RegressionConfig)
    assert config.train.patience is None and config.train.clip_norm == 2.5
    assert RegressionConfig().train.patience == 5  # the default it overrode


@pytest.mark.parametrize("config_cls", [SentimentConfig, RegressionConfig, TextgenConfig])
def test_presets_are_valid_and_reference_is_the_default(config_cls):
    assert config_cls.preset("reference") == config_cls()
    for name in config_cls.presets:
        config_cls.preset(name)  # validates
    with pytest.raises(UsageError, match="preset must be one of"):
        config_cls.preset("fastest")


def test_preset_then_typed_options():
    from rnnapps.cli import build_parser, config_from_args

    args = build_parser().parse_args(["sentiment", "train", "--preset", "best", "--units", "32"])
    config = config_from_args(args, SentimentConfig)
    assert config.model.bidirectional and config.model.units == 32
