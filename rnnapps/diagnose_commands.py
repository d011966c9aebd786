"""``rnnapps diagnose gradients|memory``: gradient flow and long-range memory of cells.

The experiments live in ``rnnapps.diagnostics``; this module only parses
their options (no TensorFlow until a command runs).
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

from rnnapps import cli
from rnnapps.config import CELLS

EXAMPLES = {
    "gradients": ("rnnapps diagnose gradients --plot gradients.png",
                  "rnnapps diagnose gradients --cells simple_rnn,lstm --recurrent-scale 1,2 "
                  "--length 100 --json gradients.json"),
    "memory": ("rnnapps diagnose memory --lengths 10,50 --epochs 5",
               "rnnapps diagnose memory --cells lstm,gru --fixed-lag --json memory.json"),
}
"""Example command lines shown in each command's ``--help``."""


def _list_arg(kind: type, choices: tuple[str, ...] | None = None) -> Callable:
    """An argparse type for comma-separated values: names from ``choices``,
    or positive numbers of ``kind``."""
    def parse(text: str) -> list:
        items = [item.strip() for item in text.split(",") if item.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}")
        if choices is not None:
            unknown = [item for item in items if item not in choices]
            if unknown:
                raise argparse.ArgumentTypeError(
                    f"unknown cell {unknown[0]!r}; choose from {', '.join(choices)}")
            return items
        try:
            values = [kind(item) for item in items]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {kind.__name__} values, got {text!r}") from None
        bad = [v for v in values if not v > 0]
        if bad:
            raise argparse.ArgumentTypeError(f"must be positive, got {bad[0]!r}")
        return values
    return parse


def _positive(kind: type) -> Callable:
    """An argparse type for one positive number of ``kind``."""
    def parse(text: str):
        values = _list_arg(kind)(text)
        if len(values) != 1:
            raise argparse.ArgumentTypeError(f"expected one value, got {text!r}")
        return values[0]
    return parse


def register(tasks) -> None:
    """``rnnapps diagnose gradients|memory`` (see ``rnnapps.diagnostics``)."""
    tool = tasks.add_parser("diagnose", help="gradient flow and long-range memory of RNN cells",
                            description="Measure how gradients vanish or explode through "
                                        "time, and how far back each cell can remember.")
    commands = tool.add_subparsers(dest="command", metavar="COMMAND")
    _add_gradients(commands)
    _add_memory(commands)


def _common(parser: argparse.ArgumentParser, cells: list[str]) -> None:
    parser.add_argument("--cells", type=_list_arg(str, CELLS), default=cells,
                        metavar="A,B", help=f"cells to compare, from {', '.join(CELLS)} "
                                            f"(default: {','.join(cells)})")
    parser.add_argument("--units", type=_positive(int), default=32,
                        help="hidden units (default: 32)")
    parser.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")


def _add_gradients(commands) -> None:
    grads = commands.add_parser(
        "gradients", help="||dL/dh_t|| against the distance from the loss",
        description="For each cell, measure the total gradient of a last-step loss "
                    "w.r.t. every hidden state, print the decay per step and what clipping "
                    "by global norm does to the gradient, and plot the curves.",
        epilog=cli.epilog(*EXAMPLES["gradients"]))
    _common(grads, list(CELLS))
    grads.add_argument("--length", type=_positive(int), default=200,
                       help="sequence length T (default: 200)")
    grads.add_argument("--recurrent-scale", type=_list_arg(float), default=[1.0],
                       metavar="S,..", help="multiply the initial recurrent kernel by each "
                       "scale; >1 shows exploding gradients (default: 1)")
    grads.add_argument("--clip-norm", type=_positive(float), default=1.0,
                       help="global-norm clipping threshold shown (default: 1)")
    grads.add_argument("--train-epochs", type=int, default=0, metavar="N",
                       help="also measure after N epochs on the memory task (default: 0)")
    grads.add_argument("--batch-size", type=_positive(int), default=32,
                       help="sequences measured (default: 32)")
    grads.add_argument("--plot", metavar="FILE.png", help="draw the curves to a PNG")
    grads.set_defaults(run=_diagnose_gradients)


def _add_memory(commands) -> None:
    memory = commands.add_parser(
        "memory", help="remember a key symbol across up to T steps",
        description="Train each cell with the shared loop to name the one key symbol hidden "
                    "at a random step among T distractors, and report the best validation "
                    "accuracy.",
        epilog=cli.epilog(*EXAMPLES["memory"]))
    _common(memory, ["simple_rnn", "lstm", "gru"])
    memory.add_argument("--lengths", type=_list_arg(int), default=[10, 50, 100],
                        metavar="T,..", help="sequence lengths (default: 10,50,100)")
    memory.add_argument("--symbols", type=_positive(int), default=4,
                        help="classes; chance is 1/symbols (default: 4)")
    memory.add_argument("--distractors", type=_positive(int), default=4,
                        help="filler symbols drawn after the first (default: 4)")
    memory.add_argument("--epochs", type=_positive(int), default=20,
                        help="maximum epochs (default: 20)")
    memory.add_argument("--steps-per-epoch", type=_positive(int), default=50,
                        help="batches of fresh sequences per epoch (default: 50)")
    memory.add_argument("--batch-size", type=_positive(int), default=64,
                        help="sequences per batch (default: 64)")
    memory.add_argument("--learning-rate", type=_positive(float), default=1e-2,
                        help="Adam learning rate (default: 0.01)")
    memory.add_argument("--fixed-lag", action="store_true",
                        help="put the key at step 0 instead of a random step")
    memory.add_argument("--clip-norm", type=_positive(float), default=1.0,
                        help="global-norm gradient clipping (default: 1)")
    memory.add_argument("--patience", type=_positive(int), default=4,
                        help="stop after N epochs without a better val_acc (default: 4)")
    memory.add_argument("--threshold", type=_positive(float), default=0.9,
                        help="val_acc that counts as learned (default: 0.9)")
    memory.set_defaults(run=_diagnose_memory)


def _diagnose_gradients(args):
    start = time.perf_counter()
    module = cli.load("rnnapps.diagnostics")
    flows = module.gradient_flow(args.cells, args.length, recurrent_scales=args.recurrent_scale,
                                 units=args.units, batch_size=args.batch_size,
                                 clip_norm=args.clip_norm, train_epochs=args.train_epochs,
                                 seed=args.seed)
    rows = module.flow_rows(flows)
    print(module.markdown_table(rows))
    if args.plot:
        print(f"plot: {module.plot_gradient_flow(flows, args.plot)}")
    if args.json:
        _write_results(args.json, [{**row, "norms": f.norms} for row, f in zip(rows, flows)])
    print(f"wall time: {time.perf_counter() - start:.1f} s")


def _diagnose_memory(args):
    start = time.perf_counter()
    module = cli.load("rnnapps.diagnostics")
    rows = module.memory_experiment(
        args.cells, args.lengths, units=args.units, threshold=args.threshold, seed=args.seed,
        symbols=args.symbols, distractors=args.distractors, epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch, batch_size=args.batch_size,
        learning_rate=args.learning_rate, clip_norm=args.clip_norm, patience=args.patience,
        first=args.fixed_lag)
    print(module.markdown_table(rows))
    if args.json:
        _write_results(args.json, rows)
    print(f"wall time: {time.perf_counter() - start:.1f} s")


def _write_results(path: str, rows: list) -> None:
    from rnnapps.artifacts import write_json
    write_json(path, rows)
    print(f"results: {path}")
