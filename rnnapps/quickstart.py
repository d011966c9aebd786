"""``rnnapps quickstart``: the main job, end to end, offline, in about a minute.

It trains the sentiment task's ``sample`` preset on the IMDB reviews shipped
inside the package (``rnnapps.samples``), then does what a user does next
with the export: scores it on the sample's test reviews and classifies two
sentences. Every step goes through the same code as ``rnnapps sentiment
train``, ``evaluate`` and ``predict``; only the data is small.
"""

from __future__ import annotations

from rnnapps import cli

EXAMPLES = ("I loved this film: the cast is superb and the ending moved me.",
            "A dull, predictable plot and wooden acting. Two hours I will never get back.")
"""The two sentences the quick start classifies."""


def register(subcommands) -> None:
    """Adds ``rnnapps quickstart`` to the ``rnnapps`` parser."""
    parser = subcommands.add_parser(
        "quickstart", help="train, evaluate, export and predict on a shipped sample (offline)",
        description="Train a sentiment classifier on the 2,600 short IMDB reviews shipped "
                    "with rnnapps, export it as a SavedModel, score the export on the "
                    "sample's test reviews and classify two sentences. Offline; about a "
                    "minute on two CPU cores.",
        epilog="examples:\n  rnnapps quickstart\n  rnnapps quickstart --seed 7 "
               "--export-dir /tmp/models")
    parser.add_argument("--run-dir", metavar="DIR",
                        help="checkpoints, history and weights (default: runs/sentiment/<time>)")
    cli.add_export_dir(parser)
    parser.add_argument("--seed", type=int, default=42, help="seed of the run (default: 42)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(run=run)


def run(args) -> None:
    """Runs the quick start with the parsed ``args`` and prints each step."""
    from rnnapps.tasks.sentiment.config import SentimentConfig

    config = SentimentConfig.preset("sample").replace(seed=args.seed)
    verbose = 0 if args.quiet else 1
    task = cli.task_object("sentiment")
    cli.print_device("default")
    print("1/3 train: sentiment, preset 'sample' (a BiGRU(32) with word pairs) on the "
          "IMDB sample shipped with rnnapps")
    run = task.train(config, run_dir=args.run_dir, export_dir=args.export_dir,
                     verbose=verbose)
    metrics = run.metrics
    print(f"    test accuracy {metrics['test']['accuracy']:.3f} "
          f"(best epoch {metrics['best_epoch']} of {metrics['epochs']}, "
          f"{metrics['train_seconds']:.0f} s of training)\n"
          f"    run:    {run.run_dir}\n    export: {run.export}")
    serving = cli.serving("sentiment")
    scores = serving.evaluate(run.export, "sample", verbose=0)
    print(f"2/3 evaluate the export on the sample's {scores['reviews']} test reviews "
          f"(raw strings in): accuracy {scores['accuracy']:.3f}, log loss {scores['loss']:.3f}")
    print("3/3 predict: probability positive")
    for p, text in zip(serving.predict(run.export, EXAMPLES), EXAMPLES):
        print(f"    {p:.3f}  {'positive' if p > 0.5 else 'negative'}  {text}")
    print(f"next: rnnapps sentiment predict --model {run.export} \"your review\"\n"
          "      rnnapps sentiment train --data PATH/aclImdb_v1.tar.gz   "
          "(all 50,000 reviews; see docs/data.md)")
