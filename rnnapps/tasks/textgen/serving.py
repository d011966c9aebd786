"""Serving a text-generation export: generate text, score the test split."""

from __future__ import annotations

import math
from pathlib import Path

import tensorflow as tf

from rnnapps.data.text import load_text
from rnnapps.errors import UsageError
from rnnapps.export import Predictor, open_export
from rnnapps.tasks.textgen.config import TextgenConfig
from rnnapps.tasks.textgen.data import VOCABULARY, check_lengths, encode, make_lookups, make_windows
from rnnapps.tasks.textgen.generation import call_generate_batch

NAME = "textgen"


def page_info(export: Predictor) -> dict:
    """What ``rnnapps serve``'s page shows of a textgen export: a seed box and the
    sampling options, sent to the ``generate_batch`` signature."""
    return {"kind": "generate", "signature": "generate_batch",
            "characters": len(export.file(VOCABULARY))}


def generate(model_dir: str | Path, seed_text: str, length: int, temperature: float = 1.0,
             top_k: int = 0, seed: int | None = None, top_p: float = 1.0) -> str:
    """Generates text with an exported model: ``generate_samples``' one sample.

    Raises:
        UsageError: As ``generate_samples``.
    """
    return generate_samples(model_dir, [seed_text], length, 1, temperature, top_k, top_p,
                            seed)[0][0]


def generate_samples(model_dir: str | Path, seed_texts: list[str], length: int,
                     num_samples: int = 1, temperature: float = 1.0, top_k: int = 0,
                     top_p: float = 1.0, seed: int | None = None) -> list[list[str]]:
    """Generates ``num_samples`` continuations of each seed text with an exported
    model's ``generate_batch`` signature (one graph loop for all of them).

    Args:
        model_dir: ``saved_models/textgen/<N>`` or its parent (latest version).
        seed_texts, length, num_samples, temperature, top_k, top_p, seed: As
            ``TextGenerator.generate_batch``.

    Returns:
        Per seed text, its samples (without the seed text).

    Raises:
        UsageError: On bad arguments (checked first) or a directory that is
            not a textgen SavedModel (or one exported before batched generation).
    """
    def exported(*tensors):  # opened once the arguments are known to be good
        loaded = open_export(model_dir, NAME).loaded
        if not hasattr(loaded, "generate_batch"):
            raise UsageError(f"{model_dir} was exported without batched generation: export "
                             "its run again (rnnapps textgen export --run-dir RUN)")
        return loaded.generate_batch(*tensors)

    return call_generate_batch(exported, seed_texts, length, num_samples, temperature, top_k,
                               top_p, seed)


def evaluate(model_dir: str | Path, data: str | Path | None = None,
             corpus: str | Path | None = None, tfds_dir: str | Path | None = None,
             batch_size: int = 64) -> dict:
    """Loss of an exported model on the test split, through its ``step`` signature.

    The text comes from where the run's config says unless ``data`` or
    ``corpus`` is given; it is cut into the same windows as in training, each
    read from the zero state, so the figures match the run's test metrics.

    Returns:
        ``{"nats_per_char", "bits_per_char", "perplexity", "characters", "model"}``.

    Raises:
        UsageError: On a directory that is not a textgen SavedModel or
            unusable text.
    """
    export = open_export(model_dir, NAME)
    loaded, path = export.loaded, export.path
    config = TextgenConfig.from_dict(export.config)
    if data is not None or corpus is not None:
        config = config.replace(data=None if data is None else str(data),
                                corpus=None if corpus is None else str(corpus))
    if tfds_dir is not None:
        config = config.replace(tfds_dir=str(tfds_dir))
    d = config.data
    splits = load_text(d.data, d.corpus, tfds_dir=d.tfds_dir, val_fraction=d.val_fraction,
                       test_fraction=d.test_fraction)
    check_lengths(splits, d.seq_length)
    chars_to_ids, _ = make_lookups(export.file(VOCABULARY))
    x, y = make_windows(encode(chars_to_ids, splits.test), d.seq_length)
    total = 0.0
    for i in range(0, len(x), batch_size):
        ids = tf.constant(x[i:i + batch_size])
        state = loaded.initial_state(tf.constant(len(ids), tf.int32))["state"]
        logits = loaded.step(ids, state)["logits"]
        total += float(tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
            y[i:i + batch_size], logits)))
    nats = total / y.size
    return {"nats_per_char": nats, "bits_per_char": nats / math.log(2.0),
            "perplexity": math.exp(nats), "characters": int(y.size), "model": str(path)}
