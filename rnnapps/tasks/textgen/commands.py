"""``rnnapps textgen ...``: train/export/tune (shared) plus evaluate and generate."""

from __future__ import annotations

from rnnapps import cli
from rnnapps.tasks.textgen.config import TextgenConfig

EXAMPLES = {
    "train": ("rnnapps textgen train --corpus my_novel.txt --epochs 5",
              "rnnapps textgen train --preset best",
              "rnnapps textgen train --data tiny_shakespeare/input.txt --units 256"),
    "export": ("rnnapps textgen export --run-dir runs/textgen/20250101-120000",),
    "tune": ("rnnapps textgen tune --corpus my_novel.txt --tuner random --max-trials 4",),
    "evaluate": ("rnnapps textgen evaluate --model saved_models/textgen",
                 "rnnapps textgen evaluate --model saved_models/textgen/1 --corpus "
                 "my_novel.txt"),
    "generate": ('rnnapps textgen generate --model saved_models/textgen --seed-text "JULIET:" '
                 "--length 300 --temperature 0.8",
                 "rnnapps textgen generate --model saved_models/textgen --temperature 0 "
                 "--length 200",
                 "rnnapps textgen generate --model saved_models/textgen --num-samples 4 "
                 "--top-p 0.9 --seed 1"),
}
"""Example command lines shown in each command's ``--help``."""


def register(tasks) -> None:
    """Adds ``rnnapps textgen`` and its commands to the ``rnnapps`` parser."""
    commands = cli.add_task(
        tasks, TextgenConfig, help="character-level text generation",
        description="Learn a text one character at a time (Tiny Shakespeare or your own), "
                    "then generate more.",
        train_help="train, report loss in nats/char, bits/char, perplexity, and export",
        train_description="Train a character model on Tiny Shakespeare (tensorflow-datasets, "
                          "or its input.txt offline with --data) or on any UTF-8 file (--corpus).",
        examples=EXAMPLES)

    evaluate = commands.add_parser(
        "evaluate", help="loss of an exported model on test",
        description="Score an exported model on the test part of its text (or of --data / "
                    "--corpus), cut into the windows training used: nats and bits per "
                    "character, and perplexity.",
        epilog=cli.epilog(*EXAMPLES["evaluate"]))
    cli.add_model_argument(evaluate)
    cli.add_config_options(evaluate, TextgenConfig, only=("data", "corpus", "tfds_dir"),
                           default_note="as in training")
    evaluate.set_defaults(run=lambda a: cli.show(cli.serving("textgen").evaluate(
        a.model, **{k: getattr(a, k, None) for k in ("data", "corpus", "tfds_dir")})))

    generate = commands.add_parser(
        "generate", help="generate text with an exported model",
        description="Continue --seed-text one character at a time, each drawn from the "
                    "exported model's distribution: --temperature and --top-k shape the "
                    "draw, --seed makes it repeatable. Prints the seed text and its "
                    "continuation.",
        epilog=cli.epilog(*EXAMPLES["generate"]))
    cli.add_model_argument(generate)
    generate.add_argument("--seed-text", default="ROMEO:", metavar="TEXT",
                          help="text to continue (default: ROMEO:)")
    generate.add_argument("--length", type=int, default=500, metavar="N",
                          help="characters to generate (default: 500)")
    generate.add_argument("--temperature", type=float, default=1.0, metavar="T",
                          help="lower is safer, higher is wilder; 0 is greedy (default: 1.0)")
    generate.add_argument("--top-k", type=int, default=0, metavar="K",
                          help="sample among the K likeliest characters; 0 for all (default: 0)")
    generate.add_argument("--top-p", type=float, default=1.0, metavar="P",
                          help="sample among the likeliest characters whose probabilities "
                               "add up to P (nucleus sampling); 1 for all (default: 1.0)")
    generate.add_argument("--num-samples", type=int, default=1, metavar="N",
                          help="continuations to generate, in one batch (default: 1)")
    generate.add_argument("--seed", type=int, default=None,
                          help="random seed: the same seed gives the same text")
    generate.set_defaults(run=_generate)


def _generate(args) -> None:
    samples = cli.serving("textgen").generate_samples(
        args.model, [args.seed_text], args.length, args.num_samples, args.temperature,
        args.top_k, args.top_p, args.seed)[0]
    for k, text in enumerate(samples, start=1):
        if len(samples) > 1:
            print(f"{'' if k == 1 else chr(10)}--- sample {k} of {len(samples)} ---")
        print(args.seed_text + text)
