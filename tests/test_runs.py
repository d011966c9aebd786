"""What every task's train shares: reproducibility from one seed."""

import json

import numpy as np

from rnnapps.config import RegressionConfig
from rnnapps.tasks import regression, runs


def test_the_same_seed_gives_the_same_run_twice(tmp_path):
    config = RegressionConfig().replace(signal_length=400, epochs=2, units=8, dropout=0.1,
                                        seed=7)
    results = [regression.train(config, run_dir=tmp_path / f"run{i}", export_dir=None,
                                verbose=0) for i in (1, 2)]
    histories = [json.loads((tmp_path / f"run{i}" / "history.json").read_text())
                 for i in (1, 2)]
    assert histories[0] == histories[1]
    assert results[0]["test"] == results[1]["test"]
    models = [regression.build_model(config, 1) for _ in (1, 2)]
    for i, model in enumerate(models, start=1):
        model.load_weights(tmp_path / f"run{i}" / runs.WEIGHTS)
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_array_equal(a, b)

    other = regression.train(config.replace(seed=8), run_dir=tmp_path / "run3",
                             export_dir=None, verbose=0)
    assert other["test"] != results[0]["test"]  # the seed matters
