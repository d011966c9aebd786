"""The task contract, the registry and the shape of the code."""

import ast
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from rnnapps import registry
from rnnapps.config import TrainConfig, iter_options, with_defaults
from rnnapps.errors import UsageError

PACKAGE = Path(__file__).resolve().parents[1] / "rnnapps"


def test_the_registry_and_every_tasks_config_and_commands_load_without_tensorflow():
    code = ("import sys, rnnapps.cli as cli\n"
            "from rnnapps import registry\n"
            "cli.build_parser()\n"
            "classes = [registry.config_class(t).task for t in registry.TASKS]\n"
            "import rnnapps.tasks.sentiment as s\n"
            "print(','.join(classes), s.SentimentConfig.task, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[-1] == "False"  # TensorFlow was never imported
    assert out[0].split(",") == list(registry.TASKS) and out[1] == "sentiment"


def test_each_registered_task_implements_the_contract():
    from rnnapps.tasks.base import Task

    for name in registry.TASKS:
        task = registry.get_task(name)
        assert isinstance(task, Task) and task.name == name
        assert task.config_class is registry.config_class(name)
        for hook in ("load", "experiment", "build_model", "serving"):
            assert getattr(type(task), hook) is not getattr(Task, hook), (name, hook)
    with pytest.raises(UsageError, match="task must be one of"):
        registry.get_task("nope")


def test_task_packages_reach_their_modules_names_lazily():
    from rnnapps.tasks import sentiment, textgen

    assert sentiment.train == sentiment.TASK.train
    assert callable(sentiment.predict) and callable(sentiment.split_validation)
    assert callable(textgen.TextGenerator) and textgen.VOCABULARY == "vocabulary.json"
    with pytest.raises(AttributeError):
        sentiment.no_such_name  # noqa: B018


def test_with_defaults_changes_defaults_and_keeps_help_and_bounds():
    Fast = with_defaults(TrainConfig, epochs=7, clip_norm=2.0)
    base = {f.name: f for f in dataclasses.fields(TrainConfig)}
    fields = {f.name: f for f in dataclasses.fields(Fast)}
    assert Fast().epochs == 7 and Fast().clip_norm == 2.0 and Fast().batch_size == 128
    assert fields["epochs"].metadata == base["epochs"].metadata
    assert issubclass(Fast, TrainConfig)
    with pytest.raises(TypeError, match="no field"):
        with_defaults(TrainConfig, epoch=3)


def test_a_tasks_inherited_fields_have_one_declaration():
    """Every option's help text is written once: a task's section that changes a
    base default shares the base field's metadata object."""
    from rnnapps.tasks.regression import RegressionConfig

    base = {f.name: f.metadata for f in dataclasses.fields(TrainConfig)}
    for section, name, _, _, meta in iter_options(RegressionConfig):
        if section == "train" and name in base:
            assert meta == base[name], name


def _long_functions(limit: int) -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > limit:
                    found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} "
                                 f"{node.name} ({length} lines)")
    return found


def test_no_function_in_the_package_is_longer_than_a_screen():
    assert _long_functions(60) == []


def test_a_run_reopens_with_load_run_and_keras_alone(tmp_path):
    import keras
    import numpy as np

    from rnnapps.tasks import regression

    config = regression.RegressionConfig().replace(signal_length=300, window=12, units=4,
                                                   epochs=1)
    run = regression.train(config, run_dir=tmp_path / "run", export_dir=tmp_path / "saved",
                           verbose=0)
    again = regression.load_run(tmp_path / "run")
    assert again.config == run.config and again.metrics == run.metrics
    assert again.history == run.history and set(again.history) >= {"loss", "val_loss"}
    whole = keras.models.load_model(tmp_path / "run" / "model.keras")
    x = np.random.default_rng(0).normal(size=(2, 12, 1)).astype("float32")
    np.testing.assert_allclose(whole(x), run.model(x), rtol=1e-6)
    np.testing.assert_allclose(again.model(x), run.model(x), rtol=1e-6)
    # The predictor loads the export once and hands the same object back.
    first = regression.TASK.predictor(run.export)
    assert regression.TASK.predictor(run.export.parent) is first
    assert first.file("series.json") == json.loads((run.export / "series.json").read_text())


def test_an_internal_error_keeps_its_traceback_and_exits_1(tmp_path):
    """Only user mistakes exit 2: a bug inside a task is not dressed up as one."""
    code = ("import sys\n"
            "from rnnapps import cli\n"
            "from rnnapps.tasks.regression import task\n"
            "def broken(self, config, verbose=1):\n"
            "    raise ValueError('an internal shape bug')\n"
            "task.RegressionTask.load = broken\n"
            "sys.exit(cli.main(['regression', 'train', '--quiet', '--run-dir', 'r']))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path)
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr and "an internal shape bug" in proc.stderr
    assert not (tmp_path / "r").exists()


def test_an_unknown_monitor_is_a_usage_error_before_anything_is_written(tmp_path, capsys):
    from rnnapps import cli

    code = cli.main(["regression", "train", "--quiet", "--signal-length", "300",
                     "--run-dir", str(tmp_path / "r"), "--monitor", "val_f2"])
    assert code == 2
    assert "monitor must be one of" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
