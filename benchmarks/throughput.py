"""Training throughput: the shared loop (``rnnapps.training.Trainer``) against ``model.fit``.

For each task's default model (or ``--preset``'s; built by the task's own ``build_model``), both
sides get a fresh copy of the same initial weights, the same examples, the same
batch size, loss, metrics and Adam optimizer. Sentiment uses real IMDB training
reviews (vectorised as the task does) when ``--data-dir`` holds them, the other
tasks random data of their shape. After a warm-up run each, the variants run in
turn (A B, B A, ...) for ``--repeats`` rounds, each a pass over ``--steps``
batches' worth of examples; the ratio is the median of the per-round ratios,
so drift on a shared machine cancels out. Where the machine is throttled in
bursts (whole rounds run at a fixed fraction of their speed), the best round of
each variant and the least CPU time per sample are the undisturbed figures:
both are reported, as ``best_ratio_vs_*`` and ``cpu_ratio_vs_*``.

    python benchmarks/throughput.py [--task all|sentiment|textgen|regression]
        [--repeats N] [--steps N] [--variants fit,loop,...] [--preset NAME]
        [--precision float32,mixed_bfloat16] [--pipeline plain|task]
        [--data-dir DIR] [--out PATH]

``--precision`` compares the loop in each precision (the variants ``loop`` and
``loop_<precision>``) and measures, in the same run, the matmul ceiling of each
precision: the GFLOP/s of one large matmul (2048 x 2048 x 2048), and of the
recurrent step's own matmul run in a ``while`` loop as the layer runs it. Each
variant's matmul GFLOP/s (2 FLOPs per weight of every 2-D kernel per timestep,
times 3 for the forward and the two backward matmuls) is then reported as a
fraction of its precision's ceiling. ``--pipeline task`` batches sentiment's
reviews as its training does (cut to the longest review, bucketed by length
when the preset says so) instead of as padded ``seq_length`` windows.

Variants: ``fit`` (``model.fit``, compiled with Keras's defaults), ``loop``
(the Trainer as the tasks make it), and for measuring levers ``loop_plain``
(one step per call, no XLA), ``loop_xla``, ``loop_noxla``, ``loop_spe<N>``
(``results/throughput_levers.json`` came from
``--variants fit,loop,loop_xla,loop_spe8``), ``loop_mixed_bfloat16`` and
``loop_mixed_float16`` (the task's loop in that precision, as
``--precision`` trains; the CPU's flags are in the report); for sentiment also the task's input
pipelines: ``loop_trim`` (each batch cut to its longest review) and
``loop_bucketed`` (reviews of similar length batched together, then cut). The
parts combine in that order: ``loop_mixed_bfloat16_xla``, ``loop_spe8_bucketed``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from common import DATA_DIR, RESULTS, write_report  # noqa: E402

from rnnapps import precision  # noqa: E402
from rnnapps.precision import PRECISIONS  # noqa: E402
from rnnapps.tasks.base import Experiment, make_trainer  # noqa: E402
from rnnapps.training import Epochs, Trainer  # noqa: E402


def imdb_ids(config, n: int, data_dir: Path) -> np.ndarray | None:
    """``n`` real training reviews as the task vectorises them, or None without IMDB."""
    archive = data_dir / "imdb_reviews" / "aclImdb_v1.tar.gz"
    if not archive.exists():
        return None
    from rnnapps.data.imdb import load_imdb
    from rnnapps.tasks import sentiment
    train = load_imdb(str(archive))["train"]
    texts = train.texts[np.random.default_rng(0).permutation(len(train))[:n]].astype(str)
    vectorizer = sentiment.make_vectorizer(config)
    vectorizer.adapt(texts)
    return vectorizer(texts).numpy().astype("int32")


# ------------------------------------------------------------------ tasks
def sentiment_case(steps: int, data_dir: Path, preset: str):
    from rnnapps.tasks import sentiment
    from rnnapps.tasks.sentiment import SentimentConfig
    config = SentimentConfig.preset(preset)
    d, batch = config.data, config.train.batch_size
    n = steps * batch
    rng = np.random.default_rng(0)
    x = imdb_ids(config, n, data_dir)
    source = "IMDB training reviews"
    if x is None:  # token ids with a random-length padding tail, as TextVectorization leaves it
        source = "random ids"
        x = rng.integers(1, d.max_tokens, size=(n, d.seq_length)).astype("int32")
        lengths = rng.integers(d.seq_length // 2, d.seq_length + 1, size=n)
        x[np.arange(d.seq_length)[None, :] >= lengths[:, None]] = 0
    y = rng.integers(0, 2, size=n).astype("float32")
    # The task's own training pipelines, for the loop_trim / loop_bucketed variants.
    from rnnapps.tasks.classify.data import batch_texts
    pipelines = {
        "trim": lambda ds: batch_texts(ds, batch),
        "bucketed": lambda ds: batch_texts(ds, batch, d.seq_length),
        "task": lambda ds: batch_texts(ds, batch, d.seq_length if d.bucket_by_length else None)}
    return dict(config=config, build=lambda: sentiment.build_model(config), x=x, y=y,
                source=source, pipelines=pipelines,
                loss=keras.losses.BinaryCrossentropy,
                metrics=lambda: [keras.metrics.BinaryAccuracy(name="accuracy")])


def textgen_case(steps: int, data_dir: Path, preset: str):
    from rnnapps.tasks import textgen
    from rnnapps.tasks.textgen import TextgenConfig
    config = TextgenConfig.preset(preset)
    vocab, n = 65, steps * config.train.batch_size  # 65: Tiny Shakespeare's characters
    ids = np.random.default_rng(0).integers(0, vocab, size=(n, config.data.seq_length + 1))
    ids = ids.astype("int32")
    return dict(config=config, build=lambda: textgen.build_model(config, vocab),
                x=ids[:, :-1], y=ids[:, 1:], source="random ids",
                loss=lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=lambda: [])


def regression_case(steps: int, data_dir: Path, preset: str):
    from rnnapps.tasks import regression
    from rnnapps.tasks.regression import RegressionConfig
    config = RegressionConfig.preset(preset)
    rng, n = np.random.default_rng(0), steps * config.train.batch_size
    x = rng.normal(size=(n, config.data.window, 1)).astype("float32")
    y = rng.normal(size=(n, config.data.horizon)).astype("float32")
    return dict(config=config, build=lambda: regression.build_model(config, 1), x=x, y=y,
                source="random windows", loss=keras.losses.MeanSquaredError,
                metrics=lambda: [keras.metrics.MeanAbsoluteError(name="mae")])


PIPELINE_VARIANTS = ("trim", "bucketed")
CASES = {"sentiment": sentiment_case, "textgen": textgen_case, "regression": regression_case}


# --------------------------------------------------------------- variants
def fresh_model(case, weights):
    model = case["build"]()
    model(case["x"][:1])
    model.set_weights(weights)
    return model


def parse_variant(variant: str) -> tuple[str, dict, str]:
    """``loop[_<precision>][_xla|_noxla|_plain|_spe<N>][_<pipeline>]`` ->
    (precision, Trainer options, pipeline name or "")."""
    rest, policy, options, pipeline = variant[len("loop"):], "float32", {}, ""
    for name in PRECISIONS:
        if rest.startswith(f"_{name}"):
            policy, rest = name, rest[len(name) + 1:]
    for token in filter(None, rest.split("_")):
        if token in ("xla", "noxla"):
            options["jit_compile"] = token == "xla"
        elif token == "plain":
            options.update(jit_compile=False, steps_per_execution=1)
        elif token.startswith("spe") and token[3:].isdigit():
            options["steps_per_execution"] = int(token[3:])
        elif token in PIPELINE_VARIANTS:
            pipeline = token
        else:
            raise SystemExit(f"unknown variant {variant!r}")
    return policy, options, pipeline


def make_runner(variant: str, case, weights, dataset):
    """Returns ``(run, info)``: ``run()`` trains one pass over ``dataset``."""
    config = case["config"]
    policy, options, _ = parse_variant(variant) if variant != "fit" else ("float32", {}, "")
    with precision.policy(policy):  # loop_mixed_bfloat16: the same model in bfloat16
        model = fresh_model(case, weights)
    if variant == "fit":
        model.compile(keras.optimizers.Adam(config.train.learning_rate), case["loss"](),
                      metrics=case["metrics"]())
        info = {"jit_compile": bool(model.jit_compile),
                "steps_per_execution": model.steps_per_execution}
        return (lambda: model.fit(dataset, epochs=1, verbose=0)), info
    # The task's Trainer (its optimizer, schedule, clipping, loss scaling) ...
    exp = Experiment(model, case["loss"](), case["metrics"](), Epochs.of(dataset))
    trainer = make_trainer(config.replace(precision=policy), exp)
    if options:  # ... or the same pieces with a lever of the loop changed
        trainer = Trainer(model, exp.loss, trainer.optimizer, exp.metrics,
                          clip_norm=trainer.clip_norm, **options)
    info = {"jit_compile": trainer.jit_compile, "steps_per_execution": trainer.steps_per_execution,
            "clip_norm": trainer.clip_norm, "precision": policy}
    run = lambda: trainer.fit(dataset, epochs=1, monitor="loss", verbose=0)  # noqa: E731
    return run, info


def matmul_flops_per_sample(model, batches: tf.data.Dataset) -> float:
    """The training matmul FLOPs per sample: 2 per weight of every 2-D kernel
    at every timestep of the padded batches (the layers compute padded steps
    too), times 3 (the forward matmul and the two of its gradient).

    Embedding tables are lookups and are left out; a head applied once after
    pooling is counted at every step (a small overcount next to the cells).
    """
    weights = sum(int(np.prod(w.shape)) for w in model.trainable_weights
                  if len(w.shape) == 2 and w.name != "embeddings")
    steps = [(int(x.shape[0]), int(x.shape[1])) for x, _ in batches]
    timesteps = sum(n * t for n, t in steps) / sum(n for n, _ in steps)
    return 3 * 2 * weights * timesteps


def matmul_gflops(dtype: str, m: int, k: int, n: int, repeats: int) -> float:
    """GFLOP/s of ``repeats`` ``[m, k] x [k, n]`` matmuls in one ``while`` loop."""
    rng = np.random.default_rng(0)
    a = tf.constant(rng.normal(size=(m, k)), dtype)
    b = tf.constant(rng.normal(size=(k, n)) / np.sqrt(k), dtype)

    @tf.function
    def run():
        total = tf.zeros([m, n], dtype)
        for _ in tf.range(repeats):
            total += tf.matmul(a, b)
        return total

    run()  # trace and warm up
    best = min(timed(run)[0] for _ in range(3))
    return 2 * m * k * n * repeats / best / 1e9


def matmul_ceilings(case, model, policies: list[str]) -> dict:
    """Per precision: a large matmul's GFLOP/s (the machine's ceiling) and the
    recurrent step's own (batch x (inputs + units) x gates * units) in ``model``."""
    config = case["config"]
    kernels = [w for w in model.trainable_weights if w.name == "kernel" and len(w.shape) == 2]
    k, n = kernels[0].shape  # the first recurrent layer's input kernel
    batch = config.train.batch_size
    units = n // {"gru": 3, "lstm": 4}.get(getattr(config.model, "cell", ""), 1)
    ceilings = {}
    for policy in policies:
        dtype = keras.mixed_precision.Policy(policy).compute_dtype
        ceilings[policy] = {"large_2048": round(matmul_gflops(dtype, 2048, 2048, 2048, 4), 1),
                            f"step_{batch}x{k + units}x{n}": round(
                                matmul_gflops(dtype, batch, k + units, n, 2000), 1)}
        print(f"  matmul GFLOP/s {policy}: {ceilings[policy]}", flush=True)
    return ceilings


def matmul_ceiling_fractions(case, model, batches, wall: dict, policies: list[str]) -> dict:
    """Each loop variant's matmul GFLOP/s and its fraction of its precision's ceilings."""
    flops = matmul_flops_per_sample(model, batches)
    ceilings = matmul_ceilings(case, model, policies)
    achieved, fractions = {}, {}
    for variant in (v for v in wall if v != "fit"):
        achieved[variant] = round(statistics.median(wall[variant]) * flops / 1e9, 2)
        fractions[variant] = {size: round(achieved[variant] / gflops, 4) for size, gflops
                              in ceilings[parse_variant(variant)[0]].items()}
    return {"matmul_mflops_per_sample": round(flops / 1e6, 2), "matmul_gflops": ceilings,
            "achieved_matmul_gflops": achieved, "fraction_of_matmul_ceiling": fractions}


def timed(run):
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def bench_task(name: str, variants: list[str], repeats: int, steps: int,
               data_dir: Path, preset: str = "reference", pipeline: str = "plain") -> dict:
    case = CASES[name](steps, data_dir, preset)
    batch = case["config"].train.batch_size
    keras.utils.set_random_seed(0)
    model = case["build"]()
    model(case["x"][:1])
    weights = model.get_weights()
    examples = tf.data.Dataset.from_tensor_slices((case["x"], case["y"]))
    pipelines = {"": lambda ds: ds.batch(batch), **case.get("pipelines", {})}
    if pipeline == "task":  # every variant gets the task's own batches
        pipelines[""] = pipelines.get("task", pipelines[""])
    pipeline_of = {v: parse_variant(v)[2] if v != "fit" else "" for v in variants}
    # Pipeline variants only where the task has that pipeline (loop_trim: sentiment).
    variants = [v for v in variants if pipeline_of[v] in pipelines]

    def dataset_for(variant):  # every variant passes over the same steps * batch examples
        return pipelines[pipeline_of[variant]](examples).cache().prefetch(tf.data.AUTOTUNE)

    runners, infos = {}, {}
    for v in variants:
        runners[v], infos[v] = make_runner(v, case, weights, dataset_for(v))
        t0 = time.perf_counter()
        runners[v]()  # warm-up: tracing, compilation, optimizer slots
        print(f"  {name} {v}: warm-up {time.perf_counter() - t0:.1f}s  {infos[v]}", flush=True)
    wall = {v: [] for v in variants}
    cpu = {v: [] for v in variants}
    samples = steps * batch
    for r in range(repeats):
        order = variants if r % 2 == 0 else variants[::-1]  # A B, B A: no position bias
        for v in order:
            w, c = timed(runners[v])
            wall[v].append(samples / w)
            cpu[v].append(c / samples * 1000)
        print(f"  {name} round {r + 1}/{repeats}: " +
              "  ".join(f"{v} {wall[v][-1]:.1f}/s" for v in variants), flush=True)
    result = {"config": case["config"].to_dict(),
              "batch_size": batch, "examples_per_run": samples, "repeats": repeats,
              "input_shape": list(case["x"].shape[1:]), "data": case["source"],
              "variants": infos,
              "samples_per_s": {v: round(statistics.median(wall[v]), 2) for v in variants},
              # Throttling only slows a run down: the fastest round is the least disturbed.
              "best_samples_per_s": {v: round(max(wall[v]), 2) for v in variants},
              "cpu_ms_per_sample": {v: round(statistics.median(cpu[v]), 3) for v in variants},
              "raw_samples_per_s": {v: [round(s, 2) for s in wall[v]] for v in variants},
              "cpu_low_precision_flags": sorted(f for f in precision.cpu_flags()
                                                if f.endswith(("bf16", "fp16")))}
    policies = sorted({parse_variant(v)[0] for v in variants if v != "fit"} - {"float32"})
    if policies:
        result.update(matmul_ceiling_fractions(case, model, dataset_for(variants[0]), wall,
                                               ["float32", *policies]))
    for ref in ("fit", "loop"):
        if ref in variants:
            result[f"ratio_vs_{ref}"] = {
                v: round(statistics.median(a / b for a, b in zip(wall[v], wall[ref])), 3)
                for v in variants if v != ref}
            result[f"best_ratio_vs_{ref}"] = {v: round(max(wall[v]) / max(wall[ref]), 3)
                                              for v in variants if v != ref}
            result[f"cpu_ratio_vs_{ref}"] = {v: round(min(cpu[ref]) / min(cpu[v]), 3)
                                             for v in variants if v != ref}
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default="all", choices=["all", *CASES])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=None,
                        help="steps per timed run (default: 32 sentiment, 2 textgen, "
                             "200 regression)")
    parser.add_argument("--variants", default="fit,loop")
    parser.add_argument("--precision", default=None,
                        help="comma-separated precisions to compare in the loop, with their "
                             "matmul ceilings (replaces --variants), e.g. float32,mixed_bfloat16")
    parser.add_argument("--pipeline", choices=["plain", "task"], default="plain",
                        help="batches as padded windows (plain) or as the task trains (task)")
    parser.add_argument("--preset", default="reference",
                        help="the tasks' config preset (default: reference, the defaults)")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR,
                        help="where imdb_reviews/ is (sentiment uses real reviews if found)")
    parser.add_argument("--out", default=str(RESULTS / "throughput.json"))
    args = parser.parse_args(argv)
    tasks = list(CASES) if args.task == "all" else [args.task]
    variants = args.variants.split(",")
    if args.precision:
        unknown = set(args.precision.split(",")) - set(PRECISIONS)
        if unknown:
            parser.error(f"unknown precision {', '.join(sorted(unknown))}")
        variants = ["loop", *(f"loop_{p}" for p in args.precision.split(",") if p != "float32")]
    default_steps = {"sentiment": 32, "textgen": 2, "regression": 200}
    report = {"load_average_start": list(os.getloadavg()), "tasks": {}}
    for name in tasks:
        print(f"{name}:", flush=True)
        res = bench_task(name, variants, args.repeats, args.steps or default_steps[name],
                         args.data_dir, args.preset, args.pipeline)
        report["tasks"][name] = res
        print(f"  {name} samples/s: " + "  ".join(
            f"{v} {s:.1f}" for v, s in res["samples_per_s"].items()) +
            "".join(f"  | ratio vs {ref} (median, best round, CPU time): " + "  ".join(
                f"{v} {r:.2f}x {res[f'best_ratio_vs_{ref}'][v]:.2f}x "
                f"{res[f'cpu_ratio_vs_{ref}'][v]:.2f}x" for v, r in res[f"ratio_vs_{ref}"].items())
                    for ref in ("fit", "loop") if f"ratio_vs_{ref}" in res),
            flush=True)
    write_report(args.out, report, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
