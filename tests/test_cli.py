"""The command line's help, bare commands and ``--print-config`` (no training here)."""

import argparse
import json
import shlex
import subprocess
import sys

import pytest

from rnnapps import cli, registry
from rnnapps.config import iter_options

RUN_OPTIONS = ("--config", "--preset", "--run-dir", "--resume", "--export-dir", "--no-export",
               "--tensorboard", "--quiet", "--print-config")


def _commands(parser=None, path=()):
    """Every parser of ``rnnapps``, with the words that reach it."""
    parser = parser or cli.build_parser()
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))


def _groups(parser) -> dict:
    """Option string -> the title of its group in ``--help``."""
    return {flag: group.title for group in parser._action_groups
            for action in group._group_actions for flag in action.option_strings}


def _subcommand(path):
    return dict(_commands())[tuple(path)]


@pytest.mark.parametrize("task", list(registry.TASKS))
@pytest.mark.parametrize("command", ["train", "tune"])
def test_train_and_tune_options_come_in_groups(task, command):
    parser = _subcommand((task, command))
    groups = _groups(parser)
    config_cls = registry.config_class(task)
    for section, name, *_ in iter_options(config_cls):
        assert groups["--" + name.replace("_", "-")] == cli.SECTION_TITLES[section], name
    run = RUN_OPTIONS if command == "train" else ("--config", "--preset", "--quiet",
                                                  "--print-config")
    assert {flag: groups[flag] for flag in run} == dict.fromkeys(run, "run options")
    text = parser.format_help()
    positions = [text.index(f"\n{title}:\n") for title in
                 ("data options", "model options", "training options", "run options")]
    assert positions == sorted(positions)
    assert f"settings: {', '.join(config_cls.presets)} (" in " ".join(text.split())


def test_no_help_says_its_default_twice_or_says_default_none():
    for path, parser in _commands():
        for action in parser._actions:
            assert (action.help or "").count("(default") <= 1, (path, action.help)
        text = parser.format_help()
        assert "(default: None)" not in text, path
        for line in text.splitlines():
            assert line.count("(default") <= 1, (path, line)


def test_evaluate_says_as_in_training_instead_of_the_training_default():
    parser = _subcommand(("sentiment", "evaluate"))
    (data,) = [a for a in parser._actions if "--data" in a.option_strings]
    assert data.help.endswith("(default: as in training)") and "RNNAPPS_DATA_DIR" not in data.help


def test_every_command_has_a_description_and_examples_that_parse():
    parser = cli.build_parser()
    for path, command in _commands(parser):
        assert command.description, path
        found = cli._examples_of(command)
        assert found, f"no examples in the help of {command.prog}"
        for example in found:
            words = shlex.split(example)
            assert example.startswith(command.prog), (command.prog, example)
            # A bad example exits (argparse's SystemExit) instead of returning.
            assert parser.parse_args(words[1:]).run is not None, example


def test_examples_keep_their_lines_and_descriptions_wrap():
    text = _subcommand(("classify", "train")).format_help()
    assert ("\n  rnnapps classify train --data tickets.csv --text-column body --label-column "
            "team\n") in text
    description = text.split("\n\n")[1]  # after the usage
    assert description.startswith("Train on labelled texts")
    lines = description.splitlines()
    assert len(lines) > 1 and max(len(line) for line in lines) <= 100


def test_bare_commands_print_their_help_and_exit_0(capsys):
    for path, parser in _commands():
        if not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions):
            continue  # a command that runs (quickstart would train)
        assert cli.main(list(path)) == 0, path
        out, err = capsys.readouterr()
        assert out.startswith(f"usage: {parser.prog} ") and "examples:" in out, path
        assert err == ""
    with pytest.raises(SystemExit) as exit_:
        cli.main(["sentiment", "--help"])
    assert exit_.value.code == 0 and "usage: rnnapps sentiment" in capsys.readouterr().out


def test_print_config_prints_the_resolved_config_and_writes_nothing(tmp_path, monkeypatch,
                                                                   capsys):
    from rnnapps.tasks.sentiment.config import SentimentConfig

    monkeypatch.chdir(tmp_path)
    assert cli.main(["sentiment", "train", "--print-config", "--preset", "sample", "--units",
                     "16", "--no-bidirectional", "--patience", "2", "--run-dir", "r"]) == 0
    printed = json.loads(capsys.readouterr().out)
    expected = SentimentConfig.preset("sample").replace(units=16, bidirectional=False,
                                                        patience=2)
    assert printed == expected.to_dict()
    assert SentimentConfig.from_dict(printed) == expected  # what config.json would hold
    assert list(tmp_path.iterdir()) == []
    assert cli.main(["sentiment", "train", "--print-config", "--units", "0"]) == 2
    assert "units must be >= 1" in capsys.readouterr().err


def test_print_config_of_tune_starts_from_config_and_never_loads_tensorflow(tmp_path):
    from rnnapps.tasks.regression.config import RegressionConfig

    base = RegressionConfig().replace(units=8, window=12, clip_norm=1.0)
    base.save(tmp_path / "base.json")
    before = sorted(tmp_path.iterdir())
    code = ("import sys\nfrom rnnapps import cli\n"
            "code = cli.main(['regression', 'tune', '--print-config', '--config', 'base.json',"
            " '--units', '16', '--clip-norm', 'none'])\n"
            "print('tensorflow' in sys.modules)\nsys.exit(code)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    config, _, loaded = proc.stdout.rpartition("}")
    assert loaded.strip() == "False"
    assert json.loads(config + "}") == base.replace(units=16, clip_norm=None).to_dict()
    assert sorted(tmp_path.iterdir()) == before


def test_tune_refuses_a_multiworker_strategy_before_anything_runs(tmp_path, monkeypatch,
                                                                 capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["localhost:1"]},
                                                "task": {"type": "worker", "index": 0}}))
    assert cli.main(["regression", "tune", "--strategy", "multiworker"]) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and "--strategy must be one of default, mirrored" in err
    assert out == "" and list(tmp_path.iterdir()) == []
