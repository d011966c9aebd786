"""Character-level text generation: data sources, model, generation, export, CLI.

A tiny GRU learns a short repeated sentence in a few seconds; everything
that needs a trained model shares it (module-scoped fixture).
"""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

from conftest import SHARED_DATA, run_tensorflow_only
from rnnapps import cli
from rnnapps.data.text import load_text, read_corpus, split_text
from rnnapps.errors import UsageError
from rnnapps.tasks.textgen import TextgenConfig

PERIOD = "the cat sat on the mat. "
SHAKESPEARE_LIKE = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\n"
                    "All:\nSpeak, speak.\n\n")


# --------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def textgen():
    from rnnapps.tasks import textgen
    return textgen


@pytest.fixture(scope="module")
def trained(tmp_path_factory, textgen):
    """A GRU trained on PERIOD * 60 through ``train`` (corpus path), and its export."""
    root = tmp_path_factory.mktemp("textgen")
    corpus = root / "corpus.txt"
    corpus.write_text(PERIOD * 60, encoding="utf-8")
    config = TextgenConfig().replace(corpus=str(corpus), seq_length=32, units=48,
                                     embedding_dim=16, epochs=15, batch_size=8,
                                     learning_rate=0.02)
    result = textgen.train(config, run_dir=root / "run", export_dir=root / "saved_models",
                           verbose=0).summary()
    run = textgen.load_run(root / "run")
    model, vocabulary = run.model, run.files["vocabulary.json"]
    return {"result": result, "run_dir": root / "run", "export": result["export"],
            "generator": textgen.TextGenerator(model, vocabulary), "model": model,
            "vocabulary": vocabulary, "root": root}


def _tfds_builder():
    import tensorflow_datasets as tfds
    return tfds.builder_cls("tiny_shakespeare")


@pytest.fixture
def tiny_manual_dir(tmp_path, monkeypatch):
    """A TFDS manual dir with a tiny ``input.txt`` whose checksum TFDS accepts.

    TFDS's download manager takes ``<manual_dir>/input.txt`` instead of
    downloading only after checking its size and sha256 against the builder's
    registered ``url_infos`` (from its ``checksums.tsv``), so a tiny file is
    rejected as it should be. TFDS's own way to accept new files,
    ``DownloadConfig(register_checksums=True)``, would rewrite the
    ``checksums.tsv`` inside site-packages; instead the fixture registers the
    tiny file's checksum for this test only, under the builder's real URL.
    Everything else -- the manual-dir lookup, checksum check, the builder's
    90/5/5 split, writing and reading the prepared TFRecords -- is TFDS's code.
    """
    from tensorflow_datasets.core.download import checksums

    text = SHAKESPEARE_LIKE * 40
    manual = tmp_path / "manual"
    manual.mkdir()
    (manual / "input.txt").write_text(text, encoding="utf-8")
    builder = _tfds_builder()
    (url,) = builder.url_infos  # the one registered download
    monkeypatch.setattr(builder, "url_infos",
                        {url: checksums.compute_url_info(manual / "input.txt")})
    return manual, text


def _main(capsys, *argv):
    """Runs the CLI in process; returns (exit code, stderr lines)."""
    code = cli.main(list(argv))
    return code, capsys.readouterr().err.strip().splitlines()


# ------------------------------------------------------------------- data
def test_tfds_manual_dir_on_tiny_input(tiny_manual_dir, tmp_path, monkeypatch):
    manual, text = tiny_manual_dir
    expected = split_text(text, 0.05, 0.05)
    splits = load_text(manual, tfds_dir=tmp_path / "tfds")
    assert (splits.train, splits.validation, splits.test) == expected
    assert (tmp_path / "tfds" / "tiny_shakespeare" / "1.0.0").is_dir()  # prepared there
    # The file itself names the manual dir too, and so does $RNNAPPS_DATA_DIR.
    assert load_text(manual / "input.txt", tfds_dir=tmp_path / "tfds2").train == expected[0]
    root = tmp_path / "root"
    (root / "tiny_shakespeare").mkdir(parents=True)
    (root / "tiny_shakespeare" / "input.txt").write_text(text, encoding="utf-8")
    monkeypatch.setenv("RNNAPPS_DATA_DIR", str(root))
    assert load_text(tfds_dir=tmp_path / "tfds3").test == expected[2]


def test_train_command_through_tfds_manual_dir(tiny_manual_dir, tmp_path, capsys):
    manual, _ = tiny_manual_dir
    code, err = _main(capsys, "textgen", "train", "--data", str(manual),
                      "--tfds-dir", str(tmp_path / "tfds"), "--units", "16",
                      "--embedding-dim", "8", "--seq-length", "20", "--epochs", "1",
                      "--run-dir", str(tmp_path / "run"), "--export-dir",
                      str(tmp_path / "saved_models"), "--quiet")
    assert code == 0, err
    metrics = json.loads((tmp_path / "saved_models" / "textgen" / "1" / "metrics.json")
                         .read_text())
    for split, prefix in (("val", "val_"), ("test", "")):
        loss = metrics[split][prefix + "loss"]
        assert metrics[split][prefix + "bits_per_char"] == pytest.approx(loss / math.log(2),
                                                                         rel=1e-4)
        assert metrics[split][prefix + "perplexity"] == pytest.approx(math.exp(loss), rel=1e-4)


def test_tfds_rejects_a_modified_input_txt(tmp_path):
    (tmp_path / "input.txt").write_text("not the published file\n" * 10, encoding="utf-8")
    with pytest.raises(UsageError, match="checksum"):
        load_text(tmp_path, tfds_dir=tmp_path / "tfds")


@pytest.mark.skipif(not (SHARED_DATA / "tiny_shakespeare" / "input.txt").exists(),
                    reason="the full Tiny Shakespeare (../shared/data) is not on this machine")
def test_full_tiny_shakespeare_through_manual_dir(tmp_path):
    manual = SHARED_DATA / "tiny_shakespeare"
    splits = load_text(manual, tfds_dir=tmp_path / "tfds")  # the registered checksum
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (
        1003854, 55770, 55770)
    # --corpus on the same file reproduces TFDS's splits exactly.
    corpus = load_text(corpus=manual / "input.txt")
    assert (corpus.train, corpus.validation, corpus.test) == (
        splits.train, splits.validation, splits.test)


def test_corpus_is_split_in_reading_order(tmp_path):
    text = "".join(chr(ord("a") + i % 26) for i in range(1000)) + "\r\n"
    (tmp_path / "c.txt").write_bytes(text.encode("utf-8"))
    splits = load_text(corpus=tmp_path / "c.txt", val_fraction=0.1, test_fraction=0.2)
    assert splits.train + splits.validation + splits.test == text  # \r\n kept
    assert (len(splits.train), len(splits.validation)) == (701, 100)


def test_windows_are_reshuffled_per_epoch_but_repeatable(textgen):
    ids = np.arange(1, 1000, dtype=np.int32)
    first = lambda ds: next(iter(ds))[0].numpy()  # noqa: E731
    a = first(textgen.window_dataset(ids, 10, 4, seed=1, epoch=0))
    assert np.array_equal(a, first(textgen.window_dataset(ids, 10, 4, seed=1, epoch=0)))
    assert not np.array_equal(a, first(textgen.window_dataset(ids, 10, 4, seed=1, epoch=1)))
    x, y = textgen.make_windows(ids, 10)
    assert np.array_equal(x[:, 1:], y[:, :-1]) and x.shape == (90, 10)


# ---------------------------------------------------------- model, training
def test_model_learns_the_repeated_text(trained):
    vocab = len(trained["vocabulary"]) + 1
    val = trained["result"]["val"]
    assert val["val_loss"] < 0.1 * math.log(vocab)  # uniform guessing: log(vocab) nats
    assert val["val_bits_per_char"] == pytest.approx(val["val_loss"] / math.log(2), rel=1e-4)
    assert trained["result"]["test"]["perplexity"] < 1.2


def test_greedy_generation_reproduces_it(trained):
    text = trained["generator"].generate("the cat ", 3 * len(PERIOD), temperature=0)
    assert text == (PERIOD * 5)[8:8 + 3 * len(PERIOD)]


def test_generation_carries_state_instead_of_rereading(trained, textgen):
    """Greedy generation equals recomputing every step from the whole prefix."""
    import tensorflow as tf

    generator, model = trained["generator"], trained["model"]
    chars_to_ids, _ = textgen.make_lookups(trained["vocabulary"])
    prefix = "mat. th"
    for _ in range(10):
        logits = model(tf.constant([textgen.encode(chars_to_ids, prefix)]))
        prefix += trained["vocabulary"][int(tf.argmax(logits[0, -1, 1:]))]
    assert generator.generate("mat. th", 10, temperature=0) == prefix[7:]


def test_sampling_is_repeatable_with_a_seed(trained):
    generate = trained["generator"].generate
    a = generate("the", 60, temperature=3.0, seed=7)
    assert a == generate("the", 60, temperature=3.0, seed=7)
    assert a != generate("the", 60, temperature=3.0, seed=8)
    # top_k=1 leaves one candidate: the greedy choice, whatever the temperature.
    assert generate("the", 30, temperature=3.0, top_k=1, seed=1) == generate("the", 30, 0)
    assert set(a) <= set(trained["vocabulary"])  # never the OOV id


def test_a_batch_of_seed_texts_and_samples_is_one_repeatable_loop(trained):
    generator = trained["generator"]
    seeds = ["the", "mat. th", "sat on the "]  # different lengths: read with a mask
    greedy = generator.generate_batch(seeds, 25, num_samples=2, temperature=0)
    assert greedy == [[generator.generate(s, 25, temperature=0)] * 2 for s in seeds]
    sampled = generator.generate_batch(seeds, 40, num_samples=3, temperature=3.0, seed=5)
    assert [len(row) for row in sampled] == [3, 3, 3]
    assert sampled == generator.generate_batch(seeds, 40, 3, temperature=3.0, seed=5)
    assert len({text for row in sampled for text in row}) == 9  # every sample its own
    # The first row of a batch draws what a call for it alone draws.
    assert sampled[0][0] == generator.generate("the", 40, temperature=3.0, seed=5)
    assert generator.generate_batch(["the"], 40, 2, temperature=3.0, seed=5)[0] == sampled[0][:2]


def test_nucleus_keeps_the_likeliest_characters_up_to_top_p(trained):
    import tensorflow as tf

    from rnnapps.tasks.textgen.generation import _nucleus

    logits = tf.math.log(tf.constant([[0.05, 0.5, 0.15, 0.3]]))
    for top_p, kept in ((0.5, [1]), (0.8, [1, 3]), (0.81, [1, 2, 3]), (1.0, [0, 1, 2, 3])):
        out = _nucleus(logits, tf.constant(top_p)).numpy()[0]
        assert list(np.flatnonzero(np.isfinite(out))) == kept, top_p
    generate = trained["generator"].generate
    # A nucleus this small is the likeliest character alone: greedy at any temperature.
    assert generate("the", 30, temperature=3.0, top_p=1e-6, seed=2) == generate("the", 30, 0)
    with pytest.raises(UsageError, match="top_p must be in"):
        generate("the", 5, top_p=0.0)
    with pytest.raises(UsageError, match="num_samples must be a positive"):
        trained["generator"].generate_batch(["the"], 5, num_samples=0)


def test_unseen_characters_map_to_oov(trained, textgen, tmp_path):
    chars_to_ids, _ = textgen.make_lookups(trained["vocabulary"])
    assert list(textgen.encode(chars_to_ids, "tZ€")[1:]) == [textgen.OOV_ID] * 2
    text = trained["generator"].generate("Zé€ the cat ", 20, temperature=1.0, seed=0)
    assert len(text) == 20 and set(text) <= set(trained["vocabulary"])
    corpus = tmp_path / "unseen.txt"
    corpus.write_text("THE CAT SAT ON THE MAT! " * 40, encoding="utf-8")
    result = textgen.evaluate(trained["export"], corpus=corpus)
    assert math.isfinite(result["nats_per_char"]) and result["characters"] > 0


@pytest.mark.parametrize("cell,layers", [("lstm", 2), ("elman", 1)])
def test_step_by_step_equals_whole_sequence_for_any_cell(cell, layers, textgen):
    import tensorflow as tf

    config = TextgenConfig().replace(cell=cell, layers=layers, units=8, embedding_dim=4)
    model = textgen.build_model(config, 6)
    generator = textgen.TextGenerator(model, list("abcde"))
    ids = tf.constant([[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]], tf.int32)
    whole = model(ids).numpy()
    state = generator._initial_state(2)["state"]
    assert state.shape == (2, 8 * (2 * layers if cell == "lstm" else layers))
    states = tf.split(state, model.state_sizes, axis=-1)
    for t in range(5):
        out = generator._step(ids[:, t:t + 1], state)
        np.testing.assert_allclose(out["logits"][:, 0], whole[:, t], atol=1e-5)
        state = out["state"]
        # The cells-only step that generation uses computes the same.
        logits, states = model.step(ids[:, t], states)
        np.testing.assert_allclose(logits, whole[:, t], atol=1e-5)
    np.testing.assert_allclose(tf.concat(states, axis=-1), state, atol=1e-5)
    # The in-graph loop carries this cell's state too (an LSTM has two tensors per layer).
    assert set(generator.generate("abc", 5, temperature=0.5, seed=1)) <= set("abcde")


def test_model_rebuilds_from_config_and_weights(trained, textgen, tmp_path):
    import keras

    model = trained["model"]
    rebuilt = textgen.CharModel.from_config(model.get_config())
    rebuilt(np.zeros((1, 1), np.int32))
    rebuilt.load_weights(trained["run_dir"] / "model.weights.h5")
    ids = np.array([[1, 2, 3]], np.int32)
    np.testing.assert_allclose(rebuilt(ids), model(ids), atol=1e-6)
    assert keras.saving.get_registered_object("rnnapps>CharModel") is textgen.CharModel


# ------------------------------------------------------------------ export
def test_export_generates_with_tensorflow_alone(trained):
    generator = trained["generator"]
    expected = {"greedy": generator.generate("the cat ", 40, temperature=0),
                "sampled": generator.generate("the", 40, temperature=2.0, top_k=4, seed=11)}
    got = run_tensorflow_only(f"""
        import json
        import tensorflow as tf
        loaded = tf.saved_model.load({str(trained['export'])!r})
        def gen(seed_text, length, temperature, top_k, seed):
            out = loaded.generate(tf.constant(seed_text), tf.constant(length),
                                  tf.constant(temperature), tf.constant(top_k),
                                  tf.constant(seed, tf.int64))
            return out["text"].numpy().decode()
        state = loaded.initial_state(tf.constant(2))["state"]
        step = loaded.step(tf.constant([[1], [2]]), state)
        sig = loaded.signatures["generate"](seed_text=tf.constant("the cat "),
            length=tf.constant(40), temperature=tf.constant(0.0), top_k=tf.constant(0),
            seed=tf.constant(0, tf.int64))
        print(json.dumps({{"greedy": gen("the cat ", 40, 0.0, 0, 0),
                           "sampled": gen("the", 40, 2.0, 4, 11),
                           "signature": sig["text"].numpy().decode(),
                           "logits": step["logits"].shape.as_list(),
                           "state": step["state"].shape.as_list()}}))
    """)
    assert got["greedy"] == got["signature"] == expected["greedy"]
    assert got["sampled"] == expected["sampled"]
    vocab = len(trained["vocabulary"]) + 1
    assert got["logits"] == [2, 1, vocab] and got["state"] == [2, 48]


def test_the_export_generates_a_batch_as_the_model_does(trained, capsys):
    expected = trained["generator"].generate_batch(["the", "mat. th"], 30, num_samples=2,
                                                   temperature=2.0, top_k=5, top_p=0.95,
                                                   seed=3)
    got = run_tensorflow_only(f"""
        import json
        import tensorflow as tf
        loaded = tf.saved_model.load({str(trained['export'])!r})
        out = loaded.signatures["generate_batch"](
            seed_texts=tf.constant(["the", "mat. th"]), length=tf.constant(30),
            num_samples=tf.constant(2), temperature=tf.constant(2.0), top_k=tf.constant(5),
            top_p=tf.constant(0.95), seed=tf.constant(3, tf.int64))
        print(json.dumps([[t.decode() for t in row] for row in out["texts"].numpy()]))
    """)
    assert got == expected
    assert cli.main(["textgen", "generate", "--model", trained["export"], "--seed-text", "the",
                     "--length", "20", "--num-samples", "3", "--temperature", "2",
                     "--seed", "4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    samples = trained["generator"].generate_batch(["the"], 20, 3, temperature=2.0, seed=4)[0]
    assert lines == ["--- sample 1 of 3 ---", "the" + samples[0], "",
                     "--- sample 2 of 3 ---", "the" + samples[1], "",
                     "--- sample 3 of 3 ---", "the" + samples[2]]


def test_evaluate_export_matches_training_test_metrics(trained, textgen):
    result = textgen.evaluate(trained["export"])
    assert result["nats_per_char"] == pytest.approx(trained["result"]["test"]["loss"],
                                                    rel=1e-4, abs=1e-6)
    assert result["perplexity"] == pytest.approx(math.exp(result["nats_per_char"]))


def test_generate_command(trained, capsys):
    code = cli.main(["textgen", "generate", "--model", trained["export"], "--seed-text",
                     "the cat ", "--length", "16", "--temperature", "0"])
    assert code == 0
    assert capsys.readouterr().out == "the cat sat on the mat. \n"


# ------------------------------------------------------------------ errors
# The command-line mistakes (bad corpora, generation arguments, another task's
# model) are in tests/test_bad_inputs.py, the catalogue of every task's.


def test_corpus_reader_names_the_file(tmp_path):
    (tmp_path / "ok.txt").write_text("héllo\n", encoding="utf-8")
    assert read_corpus(tmp_path / "ok.txt") == "héllo\n"
    with pytest.raises(UsageError, match="not a file"):
        read_corpus(tmp_path)
    assert os.listdir(tmp_path) == ["ok.txt"]
