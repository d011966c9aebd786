"""Where the memory goes: resident memory after each stage of a sentiment training run.

    python benchmarks/memory.py [--preset best] [--steps 300] [--data-dir DIR] [--out PATH]

Walks the second self-training round of the preset (the 25,000 labelled IMDB
reviews plus the 50,000 unlabelled ones, here with random soft labels instead
of a teacher's, which take the same memory) through the task's own code:
reading, vectorising and building the model, one pass over two epochs' batches,
then ``--steps`` training steps of the shared loop. Prints and records the
resident set (``psutil``) and the peak so far after each stage; the whole run's
figure is ``/usr/bin/time -v python benchmarks/quality.py --task sentiment
--preset best`` (docs/performance.md#memory).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import psutil  # noqa: E402
from common import DATA_DIR, RESULTS, peak_rss_mb, write_report  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="best")
    parser.add_argument("--steps", type=int, default=300, help="training steps to run")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--out", type=Path, default=RESULTS / "memory_sentiment.json")
    args = parser.parse_args(argv)
    stages = []

    def stage(name: str) -> None:
        rss = psutil.Process().memory_info().rss / 2 ** 20
        stages.append({"stage": name, "rss_mb": round(rss), "peak_mb": peak_rss_mb()["self"]})
        print(f"{name:45s} resident {rss:7.0f} MB   peak {stages[-1]['peak_mb']:7.0f} MB",
              flush=True)

    stage("start")
    import keras
    import numpy as np

    from rnnapps.data.imdb import Reviews, load_imdb
    from rnnapps.tasks.base import make_trainer
    from rnnapps.tasks.sentiment import SentimentConfig
    from rnnapps.tasks.sentiment.task import TASK
    stage("TensorFlow imported")
    archive = args.data_dir / "imdb_reviews" / "aclImdb_v1.tar.gz"
    config = SentimentConfig.preset(args.preset).replace(data=str(archive))
    splits = load_imdb(config.data.data, unlabelled=True, verbose=0)
    unlabelled = splits.pop("unlabelled")
    soft = np.random.default_rng(0).random(len(unlabelled)).astype(np.float32)
    splits["pseudo"] = Reviews(unlabelled.texts, soft)
    stage(f"{sum(map(len, splits.values())):,} reviews read")
    exp = TASK.experiment(config, splits)
    stage("vectorised, model built")
    for epoch in (0, 1):
        for _ in exp.train_data.dataset(epoch):
            pass
    for _ in (*exp.val_data, *exp.test_data):
        pass
    stage("two epochs' batches and val/test read once")

    class Every100(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch % 100 == 0:
                stage(f"training step {batch}")

    trainer = make_trainer(config, exp)
    trainer.fit(exp.train_data.dataset(0).take(args.steps), epochs=1, monitor="loss",
                callbacks=[Every100()], verbose=0)
    stage(f"{args.steps} training steps")
    write_report(args.out, {"preset": args.preset, "stages": stages}, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
