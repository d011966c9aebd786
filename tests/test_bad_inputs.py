"""The bad-input catalogue: every mistake a user can make at the command line
gives one line on stderr naming the problem, exit code 2, no traceback, and
writes nothing. docs/bad_inputs.md is this catalogue as a table; a test keeps
the two the same (``python tests/test_bad_inputs.py`` prints the table).
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest
from test_series_data import write_series_csv

from conftest import write_imdb_archive
from rnnapps import cli

DOC = Path(__file__).resolve().parents[1] / "docs" / "bad_inputs.md"

# (id, arguments with {placeholders} for files made by `inputs`, part of the message)
CATALOGUE = [
    # ---- command line and config
    ("unknown-task", "translate train", "invalid choice: 'translate'"),
    ("unknown-cell", "sentiment train --cell transformer", "invalid choice: 'transformer'"),
    ("zero-units", "sentiment train --units 0", "units must be >= 1, got 0"),
    ("non-numeric-units", "sentiment train --units many", "invalid int value: 'many'"),
    ("negative-layers", "textgen train --layers -1", "layers must be >= 1, got -1"),
    ("dropout-out-of-range", "sentiment train --dropout 1.5", "dropout must be < 1.0"),
    ("zero-epochs", "regression train --epochs 0", "epochs must be >= 1, got 0"),
    ("zero-batch-size", "textgen train --batch-size 0", "batch_size must be >= 1, got 0"),
    ("missing-config", "sentiment train --config {dir}/missing.json", "config file not found"),
    ("malformed-config", "sentiment train --config {bad_json}", "cannot read config"),
    ("other-tasks-config", "sentiment train --config {textgen_json}",
     "config is for task 'textgen', not 'sentiment'"),
    ("resume-without-run-dir", "regression train --resume", "--resume needs --run-dir"),
    ("resume-nothing", "regression train --resume --run-dir {empty_dir}",
     "no run to resume in"),
    ("run-dir-is-a-file", "regression train --run-dir {text_file}",
     "exists and is not a directory"),
    # ---- sentiment data and models
    ("imdb-path-missing", "sentiment train --data {dir}/no/aclImdb", "IMDB data not found"),
    ("imdb-not-an-archive", "sentiment train --data {text_file}",
     "neither an aclImdb folder nor a tar archive"),
    ("imdb-truncated-archive", "sentiment train --data {truncated_tar}",
     "truncated or corrupt archive"),
    ("imdb-missing-split", "sentiment train --data {no_test_tar}", "has no test split"),
    ("imdb-offline", "sentiment train --tfds-dir {dir}/tfds",
     "cannot download imdb_reviews for tensorflow-datasets: ai.stanford.edu not reachable"),
    ("teacher-not-a-model", "sentiment train --teacher {empty_dir}",
     "is not a SavedModel (no saved_model.pb)"),
    ("empty-review", "sentiment predict --model {sentiment_model} ' '", "review 1 is empty"),
    ("not-a-savedmodel", "sentiment predict --model {empty_dir} good",
     "is not a SavedModel (no saved_model.pb)"),
    ("model-dir-missing", "sentiment evaluate --model {dir}/nothing", "model directory not found"),
    ("other-tasks-model", "textgen generate --model {sentiment_model}",
     "holds a sentiment model, not a textgen model"),
    ("corrupted-savedmodel", "sentiment predict --model {corrupt_model} good",
     "cannot load SavedModel"),
    ("export-unfinished-run", "regression export --run-dir {empty_dir}",
     "is not a finished regression run (no config.json)"),
    # ---- text classification on the user's own data
    ("classify-no-data", "classify train", "give the training texts with --data"),
    ("classify-data-and-tfds", "classify train --data {labels_csv} --tfds ag_news_subset",
     "(one of them)"),
    ("classify-unknown-column", "classify train --data {labels_csv} --text-column body",
     "has no column 'body' (columns: text, label)"),
    ("classify-empty-file", "classify train --data {blank_csv}", "blank.csv is empty"),
    ("classify-one-class", "classify train --data {one_class_csv}", "only one class (x)"),
    ("classify-unseen-test-label",
     "classify train --data {labels_csv} --test-data {unseen_label_csv}",
     "unseen_label.csv was never seen in training (classes: x, y)"),
    ("classify-empty-text", "classify train --data {empty_text_csv}",
     "line 3: the text is empty"),
    ("classify-not-utf8", "classify train --data {latin1_csv}", "line 2 is not UTF-8 text"),
    ("classify-mixed-labels", "classify train --data {mixed_jsonl}",
     "labels mix integers and strings (1 on line 1, 'pos' on line 2)"),
    ("classify-no-class-folders", "classify train --data {flat_dir}", "has no class folders"),
    ("classify-tfds-offline", "classify train --tfds ag_news_subset --tfds-dir {dir}/tfds",
     "cannot download ag_news_subset for tensorflow-datasets"),
    ("classify-multi-label-fasttext", "classify train --data {multi_label_txt}",
     "multi-label lines are not supported (line 1)"),
    ("classify-no-test-split", "classify train --data {labels_csv} --test-split 0",
     "no test texts: give --test-data or a --test-split above 0"),
    ("classify-predict-nothing", "classify predict --model {dir}/m",
     "give the texts as arguments or with --file"),
    ("classify-zero-top-k", "classify predict --model {classify_model} hi --top-k 0",
     "--top-k must be >= 1"),
    ("classify-empty-predict-text", "classify predict --model {classify_model} ' '",
     "text 1 is empty"),
    ("classify-plot-suffix", "classify evaluate --model {classify_model} --plot out.txt",
     "--plot must end in .png"),
    # ---- text generation
    ("empty-corpus", "textgen train --corpus {empty_txt}", "is empty"),
    ("binary-corpus", "textgen train --corpus {binary_txt}", "is a binary file, not text"),
    ("latin1-corpus", "textgen train --corpus {latin1_txt}", "is not UTF-8 text"),
    ("corpus-shorter-than-seq-length", "textgen train --corpus {short_txt}", "text too short"),
    ("corpus-missing", "textgen train --corpus {dir}/nope.txt", "corpus file not found"),
    ("tiny-shakespeare-offline", "textgen train --tfds-dir {dir}/tfds",
     "cannot download tiny_shakespeare for tensorflow-datasets"),
    ("data-and-corpus", "textgen train --corpus {short_txt} --data {dir}",
     "give --data (Tiny Shakespeare) or --corpus (your text), not both"),
    ("bidirectional-generator", "textgen train --bidirectional",
     "bidirectional layers cannot generate text"),
    ("negative-temperature", "textgen generate --model {textgen_model} --temperature -0.5",
     "temperature must be >= 0"),
    ("zero-length", "textgen generate --model {textgen_model} --length 0",
     "length must be a positive"),
    ("empty-seed-text", "textgen generate --model {textgen_model} --seed-text ''",
     "seed text must not be empty"),
    ("negative-top-k", "textgen generate --model {textgen_model} --top-k -1", "top_k must be >= 0"),
    ("top-p-outside-unit-interval", "textgen generate --model {textgen_model} --top-p 1.5",
     "top_p must be in (0, 1]"),
    ("zero-samples", "textgen generate --model {textgen_model} --num-samples 0",
     "num_samples must be a positive number"),
    # ---- regression data
    ("unknown-target", "regression train --csv {good_csv} --target nope",
     "column 'nope' not in good.csv"),
    ("unknown-feature", "regression train --csv {good_csv} --target load --features temp,wnd",
     "column 'wnd'"),
    ("non-numeric-target", "regression train --csv {text_csv} --target y",
     "target column 'y' is not numeric: line 3"),
    ("all-missing-target", "regression train --csv {empty_target_csv} --target y",
     "all 3 cells are missing"),
    ("series-too-short", "regression train --csv {short_csv} --target y --window 18 --horizon 3",
     "20 rows, fewer than window + horizon"),
    ("zero-window", "regression train --window 0", "window must be >= 1, got 0"),
    ("test-span-all-missing", "regression train --csv {gap_at_end_csv} --target y --window 3",
     "no observed 'y' value in the test split to score"),
    ("ragged-csv", "regression train --csv {ragged_csv} --target y", "has 3 fields, the header"),
    ("empty-csv", "regression train --csv {blank_csv} --target y", "is empty"),
    ("binary-csv", "regression train --csv {binary_txt} --target y", "not UTF-8"),
    ("csv-missing", "regression train --csv {dir}/missing.csv --target y", "CSV file not found"),
    ("id-like-feature", "regression train --csv {good_csv} --target load --features time",
     "distinct values"),
    ("csv-without-target", "regression train --csv {good_csv}", "--csv needs --target"),
    ("unparseable-date", "regression train --csv {bad_date_csv} --target y --date-column d",
     "date column 'd': line 3 has '01/02/2020', not an ISO 8601 date"),
    ("date-format-mismatch", "regression train --csv {bad_date_csv} --target y "
     "--date-column d --date-format %d.%m.%Y", "line 2 has '2020-01-01', not a time in the "
     "format '%d.%m.%Y'"),
    ("duplicate-time-stamps", "regression train --csv {duplicate_dates_csv} --target y "
     "--date-column d", "lines 3 and 4 have the same time stamp 2020-01-02"),
    ("irregular-time-stamps", "regression train --csv {irregular_dates_csv} --target y "
     "--date-column d", "the time stamps follow no regular step (steps such as 1 days, "
     "2 days, 3 days): give it with --freq"),
    ("off-grid-time-stamp", "regression train --csv {irregular_dates_csv} --target y "
     "--date-column d --freq 2D", "line 3 (2020-01-02 00:00:00) is not on the 2D grid"),
    ("unknown-freq", "regression train --csv {irregular_dates_csv} --target y "
     "--date-column d --freq fortnightly", "--freq 'fortnightly' is not a pandas frequency"),
    ("not-a-date-part", "regression train --csv {good_csv} --target load --date-columns "
     "time", "--date-columns names date parts, among year, month"),
    ("invalid-date-parts", "regression train --csv {date_parts_csv} --target y "
     "--date-columns year,month,day", "line 3 is not a valid time (year='2020', month='2', "
     "day='30')"),
    ("freq-without-time-index", "regression train --csv {good_csv} --target load --freq h",
     "--freq needs a time index"),
    ("too-few-rows-for-folds", "regression backtest --csv {short_csv} --target y --window 5 "
     "--folds 6", "20 rows are too few for 6 folds of 3 test rows"),
    ("one-fold", "regression backtest --folds 1", "--folds must be >= 2, got 1"),
    ("quantile-outside-unit-interval", "regression train --quantiles 0.1,1.5",
     "a quantile must lie in (0, 1), got 1.5"),
    ("calendar-without-time-index", "regression train --csv {good_csv} --target load "
     "--calendar auto", "--calendar needs a time index"),
    ("unknown-calendar-feature", "regression train --csv {good_csv} --target load "
     "--date-column time --calendar weekday", "unknown calendar feature 'weekday'"),
    ("unknown-series-column", "regression train --csv {good_csv} --target load "
     "--series-column shop", "column 'shop' not in good.csv"),
    ("series-column-is-the-target", "regression train --csv {stores_csv} --target y "
     "--series-column y", "a column is used twice"),
    ("row-without-series", "regression train --csv {stores_csv} --target y --date-column d "
     "--series-column store", "line 4 names no series"),
    ("series-steps-differ", "regression train --csv {stores_csv} --target y --date-column d "
     "--series-column shop", "the series have different time steps"),
    ("series-too-short-for-windows", "regression train --csv {stores_csv} --target y "
     "--date-column d --series-column shop --freq D --window 9",
     "series 'b': the series has 9 rows, fewer than window + horizon"),
    ("series-column-without-csv", "regression train --series-column store",
     "series_column needs --csv"),
    ("series-onehot-without-series-column", "regression train --csv {good_csv} --target load "
     "--series-onehot", "--series-onehot needs --series-column"),
    ("target-without-csv", "regression train --target load", "target needs --csv"),
    ("multiworker-without-tf-config", "regression train --strategy multiworker",
     "--strategy multiworker needs TF_CONFIG"),
    ("unknown-strategy", "regression train --strategy parameter_server",
     "invalid choice: 'parameter_server'"),
    ("unknown-precision", "regression train --precision float8", "invalid choice: 'float8'"),
    ("float16-with-clipping", "regression train --precision mixed_float16 --clip-norm 1",
     "--clip-norm does not combine with --precision mixed_float16"),
    # ---- tuning and diagnostics
    ("zero-trials", "sentiment tune --max-trials 0", "max_trials must be >= 1, got 0"),
    ("training-metric-objective", "regression tune --objective loss",
     "objective must be a validation metric"),
    ("tune-distributed-without-env", "regression tune --distributed",
     "--distributed needs KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP, KERASTUNER_ORACLE_PORT"),
    ("unknown-diagnose-cell", "diagnose gradients --cells simple_rnn,foo", "unknown cell 'foo'"),
    ("zero-length-diagnose", "diagnose gradients --length 0", "must be positive"),
    # ---- serve
    ("serve-model-without-name", "serve --model {empty_dir}", "--model takes NAME=DIR"),
    ("serve-model-twice", "serve --model a={empty_dir} --model a={empty_dir}",
     "--model a is given twice"),
    ("serve-zero-batch", "serve --model a={empty_dir} --max-batch 0",
     "--max-batch must be positive, got 0"),
    ("serve-bad-address", "serve --model a={empty_dir} --host 999.0.0.1",
     "cannot listen on 999.0.0.1:8501"),
    ("serve-model-missing", "serve --model a={dir}/nothing --port 0",
     "model a: directory not found"),
    ("serve-no-versions", "serve --model a={empty_dir} --port 0",
     "holds no version directory"),
    ("serve-corrupt-model", "serve --model a={corrupt_model} --port 0", "cannot load SavedModel"),
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, str]:
    """The bad (and a few good) files the catalogue refers to."""
    d = tmp_path_factory.mktemp("inputs")
    files = {"dir": d}

    def write(name, data):
        path = d / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        return path

    files["text_file"] = write("notes.txt", "not a dataset")
    files["bad_json"] = write("bad.json", "{not json")
    files["textgen_json"] = write("textgen.json", json.dumps({"task": "textgen"}))
    (d / "empty").mkdir()
    files["empty_dir"] = d / "empty"
    archive = write_imdb_archive(d / "good.tar.gz", per_label=2)
    files["truncated_tar"] = write("truncated.tar.gz", archive.read_bytes()[:300])
    files["no_test_tar"] = write_imdb_archive(d / "no_test.tar.gz", per_label=2,
                                              splits=("train",))
    # rnnapps metadata around a stand-in graph file
    for task in ("sentiment", "textgen", "classify"):
        model = d / f"{task}_model"
        model.mkdir()
        (model / "saved_model.pb").write_bytes(b"not a protobuf")
        (model / "config.json").write_text(json.dumps({"task": task}))
        files[f"{task}_model"] = model
    files["corrupt_model"] = files["sentiment_model"]
    files["empty_txt"] = write("empty.txt", "  \n\n")
    files["binary_txt"] = write("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    files["latin1_txt"] = write("latin1.txt", b"caf\xe9 latin-1 text")
    files["short_txt"] = write("short.txt", "a corpus far shorter than a hundred characters")
    files["good_csv"] = write_series_csv(d / "good.csv", rows=120)
    files["text_csv"] = write("text.csv", "t,y\n1,2.5\n2,high\n3,1.0\n")
    files["empty_target_csv"] = write("empty_target.csv", "t,y\n1,NA\n2,\n3,NA\n")
    files["short_csv"] = write("short.csv", "y\n" + "\n".join(map(str, range(20))) + "\n")
    files["ragged_csv"] = write("ragged.csv", "t,y\n1,2\n2,3,4\n")
    files["gap_at_end_csv"] = write("gap_at_end.csv", "y\n" + "\n".join(
        [str(i % 7) for i in range(80)] + ["NA"] * 20) + "\n")
    files["blank_csv"] = write("blank.csv", "")
    files["bad_date_csv"] = write("bad_date.csv", "d,y\n2020-01-01,1\n01/02/2020,2\n")
    files["duplicate_dates_csv"] = write("duplicate_dates.csv", "d,y\n2020-01-01,1\n"
                                         "2020-01-02,2\n2020-01-02,3\n")
    files["irregular_dates_csv"] = write("irregular_dates.csv", "d,y\n2020-01-01,1\n"
                                         "2020-01-02,2\n2020-01-04,3\n2020-01-07,4\n")
    files["date_parts_csv"] = write("date_parts.csv", "year,month,day,y\n2020,2,28,1\n"
                                    "2020,2,30,2\n")
    # Shop a daily for 40 days, shop b every fourth day; line 4 names no store.
    stores = [(day, shop) for day in range(1, 41) for shop in "ab"
              if shop == "a" or day in (1, 5, 9)]
    files["stores_csv"] = write("stores.csv", "d,store,shop,y\n" + "".join(
        f"{np.datetime64('2020-01-01') + day},{'' if i == 2 else shop},{shop},{day}\n"
        for i, (day, shop) in enumerate(stores)))
    files["labels_csv"] = write("labels.csv", "text,label\na b,x\nc d,y\ne f,x\ng h,y\n")
    files["one_class_csv"] = write("one_class.csv", "text,label\na b,x\nc d,x\n")
    files["unseen_label_csv"] = write("unseen_label.csv", "text,label\na b,x\nc d,z\n")
    files["empty_text_csv"] = write("empty_text.csv", "text,label\na b,x\n  ,y\n")
    files["latin1_csv"] = write("latin1.csv", b"text,label\ncaf\xe9,x\nok,y\n")
    files["mixed_jsonl"] = write("mixed.jsonl", '{"text": "a", "label": 1}\n'
                                                '{"text": "b", "label": "pos"}\n')
    (d / "flat").mkdir()
    files["flat_dir"] = d / "flat"
    write("flat/a.txt", "a text beside no class folder")
    files["multi_label_txt"] = write("multi.txt", "__label__a __label__b some text\n")
    return {k: str(v) for k, v in files.items()}


def _argv(template: str, inputs: dict) -> list[str]:
    return shlex.split(template.format(**inputs))


@pytest.mark.parametrize("case, template, message", CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_mistake_exits_2_with_one_line_and_writes_nothing(case, template, message, inputs,
                                                           tmp_path, monkeypatch, capsys,
                                                           no_network):
    before = sorted(Path(inputs["dir"]).rglob("*"))
    monkeypatch.chdir(tmp_path)  # where runs/, saved_models/ and tuning/ would go
    # Offline, with no data folder: a command without --data must want to download.
    monkeypatch.delenv("RNNAPPS_DATA_DIR", raising=False)
    try:
        code = cli.main(_argv(template, inputs))
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert message in err, err
    assert list(tmp_path.iterdir()) == [], "wrote files"
    assert sorted(Path(inputs["dir"]).rglob("*")) == before, "changed the inputs"


def markdown() -> str:
    """The catalogue as the table in docs/bad_inputs.md."""
    rows = ["| # | mistake | command | the one line says |", "| --- | --- | --- | --- |"]
    for i, (case, template, message) in enumerate(CATALOGUE, start=1):
        command = "rnnapps " + template.replace("|", "\\|")
        rows.append(f"| {i} | {case} | `{command}` | …{message}… |")
    return "\n".join(rows) + "\n"


def test_the_docs_table_is_the_catalogue():
    text = DOC.read_text(encoding="utf-8")
    assert markdown() in text, "docs/bad_inputs.md is stale: python tests/test_bad_inputs.py"


def test_the_catalogue_is_large_and_unique():
    assert len(CATALOGUE) >= 30
    assert len({c[0] for c in CATALOGUE}) == len(CATALOGUE)


if __name__ == "__main__":
    sys.stdout.write(markdown())
