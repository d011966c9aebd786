"""``rnnapps classify ...``: train/export/tune (shared) plus evaluate and predict."""

from __future__ import annotations

import json

from rnnapps import cli
from rnnapps.errors import UsageError
from rnnapps.tasks.classify.config import ClassifyConfig

READ_OPTIONS = ("text_column", "label_column", "format", "delimiter")
"""How a file is read: ``evaluate`` takes them (default: as in training)."""

EXAMPLES = {
    "train": ("rnnapps classify train --data tickets.csv --text-column body --label-column team",
              "rnnapps classify train --tfds ag_news_subset --epochs 3",
              "rnnapps classify train --data aclImdb_v1.tar.gz/aclImdb/train "
              "--test-data aclImdb_v1.tar.gz/aclImdb/test --classes neg,pos"),
    "export": ("rnnapps classify export --run-dir runs/classify/20250101-120000",),
    "tune": ("rnnapps classify tune --data tickets.csv --text-column body --label-column team "
             "--tuner random --max-trials 8",),
    "evaluate": ("rnnapps classify evaluate --model saved_models/classify",
                 "rnnapps classify evaluate --model saved_models/classify/1 --data "
                 "new_tickets.csv --plot confusion.png"),
    "predict": ('rnnapps classify predict --model saved_models/classify "the wifi keeps '
                'dropping"',
                "rnnapps classify predict --model saved_models/classify --file tickets.csv "
                "--top-k 3"),
}
"""Example command lines shown in each command's ``--help``."""


def register(tasks) -> None:
    """Adds ``rnnapps classify`` and its commands to the ``rnnapps`` parser."""
    commands = cli.add_task(
        tasks, ClassifyConfig, help="text classification on your own labelled texts",
        description="Classify texts into any number of classes, learned from labelled "
                    "texts in a CSV/TSV, JSON Lines or fastText file, a folder per class "
                    "(also inside a .tar.gz or .zip) or a tensorflow-datasets dataset.",
        train_help="train, report per class on test and export",
        train_description="Train on labelled texts, print the per-class test report, "
                          "draw the confusion matrix and export.",
        examples=EXAMPLES, show_run=_show_run)

    evaluate = commands.add_parser(
        "evaluate", help="per-class report of an exported model on labelled texts",
        description="Score an exported model: accuracy, macro-F1, per-class precision/"
                    "recall/F1, confusion matrix and the most confident mistakes.",
        epilog=cli.epilog(*EXAMPLES["evaluate"]))
    cli.add_model_argument(evaluate)
    evaluate.add_argument("--data", metavar="PATH",
                          help="labelled texts in any format train reads (default: the "
                               "run's own test split)")
    cli.add_config_options(evaluate, ClassifyConfig, only=READ_OPTIONS,
                           default_note="as in training")
    evaluate.add_argument("--plot", metavar="FILE.png", help="draw the confusion matrix")
    evaluate.add_argument("--json", action="store_true",
                          help="print the report as JSON (and no progress bar)")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    evaluate.set_defaults(run=_evaluate)

    predict = commands.add_parser(
        "predict", help="classify texts given as arguments or in a file",
        description="Print the likeliest class of each text and its probability "
                    "(with --top-k, the k likeliest).",
        epilog=cli.epilog(*EXAMPLES["predict"]))
    cli.add_model_argument(predict)
    predict.add_argument("texts", nargs="*", metavar="TEXT", help="text(s) to classify")
    predict.add_argument("--file", metavar="PATH",
                         help="texts, one per line, or the text column of a CSV/TSV/JSON "
                              "Lines file")
    predict.add_argument("--text-column", metavar="COLUMN",
                         help="the --file column of the texts (default: as in training)")
    predict.add_argument("--top-k", type=int, default=1, metavar="K",
                         help="show the K likeliest classes (default: 1)")
    predict.set_defaults(run=_predict)


def _show_run(run) -> None:
    report = run.metrics["test"]
    summary = run.summary()
    summary["test"] = {k: report[k] for k in ("accuracy", "macro_f1", "loss", "roc_auc")
                       if report.get(k) is not None}
    cli.show(summary)
    print()
    print(_report_text(report))


def _report_text(report: dict) -> str:
    from rnnapps.tasks.classify.report import format_report
    return format_report(report)


def _evaluate(args) -> None:
    overrides = {k: v for k, v in cli.config_overrides(args, ClassifyConfig).items()
                 if k in READ_OPTIONS}
    report = cli.serving("classify").evaluate(
        args.model, args.data, plot=args.plot, verbose=0 if args.json or args.quiet else 1,
        **overrides)
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print(_report_text(report))
    print(f"\nmodel: {report['model']}" + (f"\nplot: {args.plot}" if args.plot else ""))


def _predict(args) -> None:
    if bool(args.texts) == bool(args.file):
        raise UsageError("give the texts as arguments or with --file (one of them)")
    serving = cli.serving("classify")
    texts = args.texts
    if args.file:
        config = serving.open_export(args.model, "classify").config
        texts = serving.read_predict_texts(args.file, config, args.text_column)
    from rnnapps.tasks.classify.report import shorten

    for result, text in zip(serving.predict(args.model, texts, top_k=args.top_k), texts):
        short = shorten(text, 60)
        if args.top_k == 1:
            print(f"{result['label']}\t{result['probability']:.4f}\t{short}")
        else:
            top = "  ".join(f"{label} {p:.4f}" for label, p in result["top"])
            print(f"{top}\t{short}")
