"""The sentiment task end to end: the real CLI on a tiny aclImdb archive,
export -> reload in a TensorFlow-only process, and the user-mistake catalogue."""

import json
import shutil

import numpy as np
import pytest

from conftest import run_cli, run_tensorflow_only
from rnnapps import cli
from rnnapps.data.imdb import Reviews
from rnnapps.tasks.sentiment import SentimentConfig

TINY = ["--units", "8", "--layers", "1", "--embedding-dim", "8", "--max-tokens", "60",
        "--bigram-buckets", "97", "--pooling", "max",
        "--seq-length", "16", "--batch-size", "16", "--seed", "3"]


@pytest.fixture(scope="module")
def trained(imdb_archive, tmp_path_factory):
    """One real `rnnapps sentiment train` run through the command line."""
    work = tmp_path_factory.mktemp("sentiment")
    proc = run_cli("sentiment", "train", "--data", str(imdb_archive), "--epochs", "2",
                   "--cell", "gru", "--run-dir", "run", "--quiet", *TINY, cwd=work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return work, proc.stdout


def test_train_writes_run_and_export(trained):
    work, stdout = trained
    assert "export: saved_models/sentiment/1" in stdout
    run = work / "run"
    assert {p.name for p in run.iterdir()} >= {"config.json", "history.json", "metrics.json",
                                                "model.weights.h5", "vocabulary.txt",
                                                "checkpoints"}
    config = SentimentConfig.load(run / "config.json")
    assert (config.model.cell, config.model.units, config.train.seed) == ("gru", 8, 3)
    export = work / "saved_models" / "sentiment" / "1"
    assert {"saved_model.pb", "config.json", "metrics.json", "vocabulary.txt"} <= {
        p.name for p in export.iterdir()}
    metrics = json.loads((export / "metrics.json").read_text())
    assert 0.0 <= metrics["test"]["accuracy"] <= 1.0 and metrics["epochs"] == 2
    assert not list(work.glob("saved_models/sentiment/.tmp-*"))


def test_vocabulary_comes_from_the_training_split_only(trained):
    vocabulary = (trained[0] / "run" / "vocabulary.txt").read_text().split("\n")
    assert vocabulary[:2] == ["", "[UNK]"] and "wonderful" in vocabulary
    assert "zebra" not in vocabulary  # a word that only test reviews contain


def test_validation_split_is_disjoint_and_seeded():
    from rnnapps.tasks.sentiment import split_validation

    reviews = Reviews(np.array([f"r{i}" for i in range(100)], dtype=object),
                      np.arange(100, dtype=np.int32) % 2)
    train, val = split_validation(reviews, 0.2, seed=1)
    assert len(train) == 80 and len(val) == 20
    assert set(train.texts).isdisjoint(val.texts)
    np.testing.assert_array_equal(split_validation(reviews, 0.2, seed=1)[1].texts, val.texts)


def test_export_reloads_without_rnnapps_and_matches_the_in_memory_model(trained):
    work, _ = trained
    from rnnapps.tasks import sentiment

    reviews = ["A moving, beautifully shot film.", "awful, a waste of time", "zebra"]
    config = SentimentConfig.load(work / "run" / "config.json")
    vocabulary = (work / "run" / "vocabulary.txt").read_text().split("\n")
    model = sentiment.build_model(config)
    model.load_weights(work / "run" / "model.weights.h5")
    vectorizer = sentiment.make_vectorizer(config, vocabulary)
    in_memory = model(vectorizer(np.array(reviews))).numpy().ravel()

    served = run_tensorflow_only(f"""
        import json, tensorflow as tf
        model = tf.saved_model.load({str(work / "saved_models/sentiment/1")!r})
        out = model.signatures["serving_default"](texts=tf.constant({reviews!r}))
        print(json.dumps(out["probability"].numpy().tolist()))
    """)
    np.testing.assert_allclose(served, in_memory, atol=1e-6)


def test_predict_evaluate_and_export_commands(trained, imdb_archive, monkeypatch, capsys):
    work, _ = trained
    proc = run_cli("sentiment", "predict", "--model", "saved_models/sentiment",
                   "A moving, beautifully shot film.", "awful", cwd=work)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0].endswith("A moving, beautifully shot film.")
    assert lines[0].split("\t")[1] in ("positive", "negative")

    monkeypatch.chdir(work)  # the same commands in-process (a subprocess each is slow)
    assert cli.main(["sentiment", "evaluate", "--model", "saved_models/sentiment/1",
                     "--data", str(imdb_archive), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "reviews: 48" in out and "accuracy: " in out
    assert "\r" not in out and "48/48" not in out  # --quiet: no progress bar
    assert cli.main(["sentiment", "export", "--run-dir", "run"]) == 0
    assert capsys.readouterr().out.strip() == "saved_models/sentiment/2"


def test_resume_continues_a_run_to_more_epochs(trained, imdb_archive):
    work, _ = trained
    shutil.copytree(work / "run", work / "run2")
    proc = run_cli("sentiment", "train", "--run-dir", "run2", "--resume", "--epochs", "3",
                   "--data", str(imdb_archive), "--no-export", "--quiet", cwd=work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    history = json.loads((work / "run2" / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2, 3]  # earlier epochs kept
    assert json.loads((work / "run2" / "metrics.json").read_text())["epochs"] == 3


def test_self_training_adds_the_unlabelled_reviews_with_the_teachers_probabilities(
        trained, tmp_path):
    from rnnapps.tasks import sentiment

    teacher = trained[0] / "saved_models" / "sentiment" / "1"
    config = SentimentConfig.load(trained[0] / "run" / "config.json").replace(
        teacher=str(teacher), epochs=1)
    pseudo = sentiment.TASK.load(config)["pseudo"]
    assert list(pseudo.texts) == ["an unlabelled review"]  # the archive's train/unsup
    np.testing.assert_allclose(pseudo.labels, sentiment.predict(teacher, pseudo.texts))

    run = sentiment.train(config, run_dir=tmp_path / "run", export_dir=None, verbose=0)
    assert run.metrics["data"] == {"train_reviews": 38, "pseudo_labelled": 1}
    # The unlabelled text is training text: its words join the vocabulary.
    assert "unlabelled" in (tmp_path / "run" / "vocabulary.txt").read_text().split("\n")


def test_accuracy_counts_a_soft_label_as_the_class_it_favours():
    from rnnapps.tasks.sentiment import rounded_accuracy

    labels = np.array([[0.9], [0.2], [1.0], [0.0]], np.float32)
    probabilities = np.array([[0.6], [0.4], [0.3], [0.1]], np.float32)
    np.testing.assert_allclose(np.ravel(rounded_accuracy(labels, probabilities)), [1, 1, 0, 1])
