"""The classify task end to end: the real CLI on labelled texts in the real
formats, the per-class report, the export reloaded with TensorFlow alone,
predict/evaluate, and the IMDB archive read as a folder per class."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import run_cli, run_tensorflow_only, write_imdb_archive
from rnnapps import cli
from rnnapps.testing import TICKET_TEAMS, write_tickets

TINY = ["--units", "16", "--embedding-dim", "16", "--batch-size", "16", "--seed", "3",
        "--quiet"]
TEAMS = sorted(TICKET_TEAMS)


@pytest.fixture(scope="module")
def tickets(tmp_path_factory):
    """A tickets CSV (``id,body,team``, three teams) and one real training run on it,
    with n-gram detectors beside the recurrent layer (a functional model)."""
    work = tmp_path_factory.mktemp("classify")
    data = write_tickets(work / "tickets.csv", rows=240)
    proc = run_cli("classify", "train", "--data", str(data), "--text-column", "body",
                   "--label-column", "team", "--epochs", "6", "--learning-rate", "0.01",
                   "--ngram-filters", "4", "--run-dir", "run", *TINY, cwd=work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return work, data, proc.stdout


def test_train_reports_every_class_and_draws_the_confusion_matrix(tickets):
    work, _, stdout = tickets
    run = work / "run"
    metrics = json.loads((run / "metrics.json").read_text())
    test = metrics["test"]
    assert set(test["per_class"]) == set(TEAMS)
    assert all(set(c) == {"precision", "recall", "f1", "support"}
               for c in test["per_class"].values())
    confusion = np.array(test["confusion"])
    assert confusion.shape == (3, 3) and confusion.sum() == test["texts"] == 24
    assert test["accuracy"] == pytest.approx(np.trace(confusion) / confusion.sum())
    assert test["accuracy"] > 0.8, test  # the teams' words are distinct
    assert 0.0 <= test["macro_f1"] <= 1.0 and "roc_auc" not in test
    assert isinstance(test["mistakes"], list)
    assert metrics["data"] == {"train": 195, "validation": 21, "test": 24}  # stratified
    assert (run / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    classes = json.loads((run / "classes.json").read_text())
    assert classes["classes"] == TEAMS and classes["seq_length"] >= 10
    for line in ("macro-F1", "precision  recall", "confusion (rows: true class"):
        assert line in stdout
    assert "export: saved_models/classify/1" in stdout


def test_export_serves_labels_and_every_probability_with_tensorflow_alone(tickets):
    work, _, _ = tickets
    export = work / "saved_models" / "classify" / "1"
    assert json.loads((export / "classes.json").read_text())["classes"] == TEAMS
    out = run_tensorflow_only(f"""
        import json
        import tensorflow as tf
        m = tf.saved_model.load({str(export)!r})
        r = m.signatures["serving_default"](texts=tf.constant(
            ["my printer is on fire, the cable is not working", "I was charged twice, refund"]))
        print(json.dumps({{"label": [x.decode() for x in r["label"].numpy()],
                          "probability": r["probability"].numpy().tolist(),
                          "probabilities": r["probabilities"].numpy().tolist()}}))
    """)
    probabilities = np.array(out["probabilities"])
    assert probabilities.shape == (2, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert out["label"] == [TEAMS[i] for i in probabilities.argmax(axis=1)]
    assert out["label"] == ["hardware", "billing"]
    np.testing.assert_allclose(out["probability"], probabilities.max(axis=1), rtol=1e-6)


def test_a_text_with_no_tokens_is_served_as_one_unknown_word(tickets):
    work, _, _ = tickets
    export = work / "saved_models" / "classify" / "1"
    out = run_tensorflow_only(f"""
        import json
        import tensorflow as tf
        m = tf.saved_model.load({str(export)!r})
        r = m.signatures["serving_default"](texts=tf.constant(["", "!!!", "  ", "zyxwvut"]))
        print(json.dumps(r["probabilities"].numpy().tolist()))
    """)
    probabilities = np.array(out)
    assert np.isfinite(probabilities).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    for row in probabilities[:3]:  # the same as a word the model never saw
        np.testing.assert_allclose(row, probabilities[3], rtol=1e-5, atol=1e-6)


def in_process(capsys, *args: str) -> str:
    """Runs ``rnnapps ARGS`` in this process (TensorFlow is loaded once) and
    returns its stdout; the training run above went through a real subprocess."""
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_predict_texts_and_a_file_with_top_k(tickets, capsys):
    work, data, _ = tickets
    model = str(work / "saved_models" / "classify")
    out = in_process(capsys, "classify", "predict", "--model", model,
                     "the wifi router keeps dropping", "--top-k", "3")
    top = out.split("\t")[0].split("  ")
    assert len(top) == 3 and top[0].startswith("network ")
    assert sorted(t.split()[0] for t in top) == TEAMS
    lines = work / "lines.txt"
    lines.write_text("new battery for my laptop\n\nvpn is down\n", encoding="utf-8")
    for path in (lines, data):  # one text per line; the CSV's training column
        out = in_process(capsys, "classify", "predict", "--model", model, "--file", str(path))
        rows = out.strip().splitlines()
        assert len(rows) == (2 if path == lines else 240)
        assert {r.split("\t")[0] for r in rows} <= set(TEAMS)
    assert rows[0].startswith("billing\t")  # row 0's team


def test_evaluate_on_a_file_and_on_the_runs_own_test_split(tickets, capsys):
    work, data, _ = tickets
    model = str(work / "saved_models" / "classify")
    plot = work / "confusion.png"
    report = json.loads(in_process(capsys, "classify", "evaluate", "--model", model,
                                   "--data", str(data), "--plot", str(plot), "--json"))
    assert report["texts"] == 240 and set(report["per_class"]) == set(TEAMS)
    assert plot.read_bytes()[:4] == b"\x89PNG"
    again = json.loads(in_process(capsys, "classify", "evaluate", "--model", model, "--json"))
    trained = json.loads((work / "run" / "metrics.json").read_text())["test"]
    assert again["accuracy"] == pytest.approx(trained["accuracy"])


def test_imdb_archive_as_a_folder_per_class_trains_one_sigmoid(tmp_path, capsys,
                                                                monkeypatch):
    archive = write_imdb_archive(tmp_path / "aclImdb_v1.tar.gz", per_label=24)
    monkeypatch.chdir(tmp_path)
    in_process(capsys, "classify", "train", "--data", f"{archive}/aclImdb/train",
               "--test-data", f"{archive}/aclImdb/test", "--classes", "neg,pos",
               "--tokens", "char", "--class-weight", "balanced", "--epochs", "2",
               "--run-dir", "run", "--no-export", *TINY)
    test = json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]
    assert test["texts"] == 48 and set(test["per_class"]) == {"neg", "pos"}
    assert 0.0 <= test["roc_auc"] <= 1.0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["data"]["tokens"] == "char"
    vocabulary = (tmp_path / "run" / "vocabulary.txt").read_text().split("\n")
    assert all(len(token) <= 1 for token in vocabulary[2:])  # characters


def test_balanced_weights_make_every_class_weigh_the_same():
    from rnnapps.tasks.classify.task import balanced_weights

    labels = np.array([0] * 8 + [1] * 2 + [2] * 6)
    weights = balanced_weights(labels, 3)
    totals = [weights[labels == c].sum() for c in range(3)]
    np.testing.assert_allclose(totals, len(labels) / 3)


def test_report_scores_from_the_confusion_matrix():
    from rnnapps.tasks.classify.report import classification_report, format_report, roc_auc

    labels = np.array([0, 0, 1, 1, 2, 2])
    probabilities = np.eye(3)[[0, 1, 1, 1, 2, 0]] * 0.8 + 0.2 / 3
    report = classification_report(labels, probabilities, ["a", "b", "c"],
                                   texts=[f"t{i}" for i in range(6)])
    assert report["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["per_class"]["b"] == {"precision": pytest.approx(2 / 3), "recall": 1.0,
                                        "f1": pytest.approx(0.8), "support": 2}
    assert report["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert [m["text"] for m in report["mistakes"]] == ["t1", "t5"]
    table = format_report(report).split("\n\n")[1].splitlines()  # the per-class table
    assert table[2].split() == ["b", "0.6667", "1.0000", "0.8000", "2"]
    rng = np.random.default_rng(0)
    y, s = rng.integers(0, 2, 200), rng.integers(0, 5, 200) / 4.0  # many ties
    pairs = [(a > b) + 0.5 * (a == b) for a in s[y == 1] for b in s[y == 0]]
    assert roc_auc(y, s) == pytest.approx(np.mean(pairs))


@pytest.mark.parametrize("standardize, tokens", [
    ("lower", ["who", "?", "is", "it"]), ("lower_and_strip_punctuation", ["who", "is", "it"]),
    ("none", ["Who", "?", "is", "it"])])
def test_standardize_keeps_or_strips_punctuation(standardize, tokens):
    from rnnapps.tasks.classify.data import adapt, make_vectorizer

    vectorizer = make_vectorizer(20, 4, standardize=standardize)
    adapt(vectorizer, ["Who is it ?", "Who ?"])
    assert sorted(vectorizer.get_vocabulary()[2:]) == sorted(tokens)


def test_sequence_length_is_a_high_percentile_of_the_training_lengths():
    from rnnapps.tasks.classify.data import choose_seq_length

    texts = ["w " * n for n in range(1, 101)]
    assert choose_seq_length(texts) == 100  # the 99th percentile of 1..100, rounded up
    assert choose_seq_length(["abcd", "ab"], tokens="char") == 4
