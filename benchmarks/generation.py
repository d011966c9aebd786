"""Text generation speed: the exported in-graph ``generate`` signature against a
Python loop that calls the export's ``step`` signature once per character.

Both sample at temperature 1 from the same SavedModel, after a warm-up, in
turn (A B A B ...); the ratio is the median of the per-round ratios. Then
``generate_batch`` draws ``--batches`` samples at once (one graph loop for the
batch): characters per second over all samples, at each batch size.

    python benchmarks/generation.py [--model-dir saved_models/textgen/N]
        [--length 400] [--repeats 5] [--batches 1,8,32] [--out PATH]

Without ``--model-dir`` the default model (GRU(512)) is trained for one epoch
on a small generated corpus and exported to a temporary directory: speed
does not depend on how well the model has learned.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from common import RESULTS, write_report  # noqa: E402

SEED_TEXT = "ROMEO:\nBut soft, what light"


def export_default_model(workdir: Path) -> Path:
    """Trains the default textgen model briefly on a generated corpus and exports it."""
    from rnnapps.tasks import textgen
    from rnnapps.tasks.textgen import TextgenConfig
    rng = np.random.default_rng(0)
    words = ["".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), size=rng.integers(2, 8)))
             for _ in range(300)]
    lines = [" ".join(rng.choice(words, size=10)).capitalize() + "." for _ in range(500)]
    corpus = workdir / "corpus.txt"
    corpus.write_text("ROMEO:\n" + "\n".join(lines) + "\n", encoding="utf-8")
    config = TextgenConfig().replace(corpus=str(corpus), epochs=1)
    run = textgen.train(config, run_dir=workdir / "run", export_dir=workdir / "export",
                        verbose=0)
    return run.export


def python_loop(loaded, vocabulary: list[str], seed_text: str, length: int,
                rng: np.random.Generator) -> str:
    """Generates ``length`` characters calling ``step`` once per character."""
    ids_of = {c: i + 1 for i, c in enumerate(vocabulary)}  # id 0: out of vocabulary
    state = loaded.initial_state(batch_size=tf.constant(1))["state"]
    out = loaded.step(ids=tf.constant([[ids_of.get(c, 0) for c in seed_text]], tf.int32),
                      state=state)
    chars = []
    for _ in range(length):
        logits = out["logits"].numpy()[0, -1].astype(np.float64)
        logits[0] = -np.inf  # the OOV id stands for no character
        p = np.exp(logits - logits.max())
        next_id = int(rng.choice(len(p), p=p / p.sum()))
        chars.append(vocabulary[next_id - 1])
        out = loaded.step(ids=tf.constant([[next_id]], tf.int32), state=out["state"])
    return "".join(chars)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", default=None)
    parser.add_argument("--length", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batches", default="1,8,32",
                        help="comma-separated generate_batch sizes (samples per call)")
    parser.add_argument("--out", default=str(RESULTS / "generation.json"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(args.model_dir) if args.model_dir else export_default_model(Path(tmp))
        from rnnapps.export import load_saved_model
        loaded, config, path = load_saved_model(model_dir, "textgen")
        vocabulary = json.loads((path / "vocabulary.json").read_text(encoding="utf-8"))

        def graph(seed: int) -> str:
            return loaded.generate(
                seed_text=tf.constant(SEED_TEXT), length=tf.constant(args.length),
                temperature=tf.constant(1.0), top_k=tf.constant(0),
                seed=tf.constant(seed, tf.int64))["text"].numpy().decode()

        rng = np.random.default_rng(0)
        runners = {"generate": lambda r: graph(r),
                   "python_step_loop": lambda r: python_loop(loaded, vocabulary, SEED_TEXT,
                                                             args.length, rng)}
        for name, run in runners.items():
            t0 = time.perf_counter()
            text = run(0)
            print(f"{name}: warm-up {time.perf_counter() - t0:.1f}s, {len(text)} chars",
                  flush=True)
        rates = {name: [] for name in runners}
        for r in range(args.repeats):
            for name in (runners if r % 2 == 0 else list(runners)[::-1]):
                t0 = time.perf_counter()
                text = runners[name](r + 1)
                rates[name].append(len(text) / (time.perf_counter() - t0))
            print(f"round {r + 1}/{args.repeats}: " + "  ".join(
                f"{n} {v[-1]:.0f} chars/s" for n, v in rates.items()), flush=True)
        batched = batch_rates(loaded, [int(b) for b in args.batches.split(",")],
                              args.length, args.repeats)
    ratio = statistics.median(a / b for a, b in zip(rates["generate"],
                                                    rates["python_step_loop"]))
    report = {"model": config.get("model"), "length": args.length,
              "repeats": args.repeats,
              "chars_per_s": {n: round(statistics.median(v), 1) for n, v in rates.items()},
              "raw_chars_per_s": {n: [round(x, 1) for x in v] for n, v in rates.items()},
              "ratio_generate_vs_python_loop": round(ratio, 2),
              "batched_chars_per_s": batched}
    print(f"chars/s: generate {report['chars_per_s']['generate']:.0f}, python step loop "
          f"{report['chars_per_s']['python_step_loop']:.0f}; ratio {ratio:.1f}x")
    print("generate_batch chars/s: " + ", ".join(f"batch {b}: {v:.0f}"
                                                  for b, v in batched.items()))
    write_report(args.out, report, argv)
    return 0


def batch_rates(loaded, batches: list[int], length: int, repeats: int) -> dict:
    """Median characters per second (all samples together) of ``generate_batch``
    drawing ``b`` samples of one seed text per call, for each ``b``."""
    def draw(b: int, seed: int) -> int:
        out = loaded.generate_batch(
            seed_texts=tf.constant([SEED_TEXT]), length=tf.constant(length),
            num_samples=tf.constant(b), temperature=tf.constant(1.0), top_k=tf.constant(0),
            top_p=tf.constant(1.0), seed=tf.constant(seed, tf.int64))["texts"]
        return sum(len(t.decode("utf-8")) for t in out.numpy().ravel().tolist())

    draw(batches[0], 0)  # warm-up (one trace serves every batch size)
    rates = {}
    for b in batches:
        times = []
        for r in range(repeats):
            t0 = time.perf_counter()
            chars = draw(b, r)
            times.append(chars / (time.perf_counter() - t0))
        rates[str(b)] = round(statistics.median(times), 1)
        print(f"generate_batch, batch {b}: {rates[str(b)]:.0f} chars/s", flush=True)
    return rates


if __name__ == "__main__":
    sys.exit(main())
