"""Reading a user's labelled texts: real files in every supported format,
every mistake a user can make in them, and the class/split helpers."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED_DATA, write_imdb_archive
from rnnapps.data.labelled import (
    FORMATS,
    LabelledTexts,
    class_names,
    label_ids,
    load_tfds,
    read_labelled,
    read_texts,
    stratified_split,
)
from rnnapps.errors import UsageError

TEXT_CLASSIFICATION = SHARED_DATA / "text_classification"


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def read(path, **kwargs) -> tuple[list, list]:
    data = read_labelled(path, **kwargs)
    return list(data.texts), data.labels.tolist()


# A folder per class, as Keras' text_dataset_from_directory reads it.
CLASS_FILES = {"neg/b.txt": "dull and long", "neg/a.txt": "a waste of time",
               "pos/1.txt": "a delight", "pos/notes.md": "not a text",
               "pos/.hidden.txt": "an editor's backup", "README.txt": "not in a class"}
FOLDER_TEXTS = ["a waste of time", "dull and long", "a delight"]
FOLDER_LABELS = ["neg", "neg", "pos"]


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        write(root / name, text)
    return root


def write_archive(path: Path, files: dict[str, str | bytes]) -> Path:
    """A ``.zip`` or tar archive of ``files`` (name -> content), written directly."""
    blobs = {n: t.encode("utf-8") if isinstance(t, str) else t for n, t in files.items()}
    if path.suffix == ".zip":
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in blobs.items():
                archive.writestr(name, data)
        return path
    mode = {".gz": "w:gz", ".tgz": "w:gz", ".bz2": "w:bz2"}.get(path.suffix, "w")
    with tarfile.open(path, mode) as archive:
        for name, data in blobs.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


# ------------------------------------------------------------------ formats


def test_csv_with_header_and_integer_labels(tmp_path):
    path = write(tmp_path / "reviews.csv", "id,text,label\n7,great fun,1\n8,\"dull, long\",0\n"
                                           "9,  spaced  ,1\n")
    data = read_labelled(path)
    assert list(data.texts) == ["great fun", "dull, long", "  spaced  "]  # texts as written
    assert data.labels.dtype == np.int64 and data.labels.tolist() == [1, 0, 1]
    assert data.texts.dtype == object and data.source == str(path) and len(data) == 3


def test_headerless_csv_guesses_label_and_text_columns(tmp_path):
    rows = [f"{i},a rather long review number {i},{'pos' if i % 2 else 'neg'}" for i in range(6)]
    path = write(tmp_path / "plain.csv", "\n".join(rows) + "\n")
    texts, labels = read(path)
    assert texts[0] == "a rather long review number 0"  # the longest column
    assert labels == ["neg", "pos"] * 3  # the fewest distinct values
    assert read(path, header=False) == (texts, labels)
    forced = read_labelled(path, header=True, text_column=1, label_column=2)
    assert len(forced) == 5  # the first row became the header


def test_semicolon_csv_is_sniffed(tmp_path):
    path = write(tmp_path / "export.csv", "good, really, good;yes\nbad;no\n"
                                          "fine, I guess;yes\nawful, truly;no\n")
    assert read(path) == (["good, really, good", "bad", "fine, I guess", "awful, truly"],
                          ["yes", "no", "yes", "no"])
    path = write(tmp_path / "named.csv", "Review;Sentiment\nok, fine;1\nno, never;0\n")
    assert read(path) == (["ok, fine", "no, never"], [1, 0])  # header names, any case


def test_tsv_and_given_delimiter(tmp_path):
    tsv = write(tmp_path / "train.tsv", "sentence\tlabel\na, b; c | d\t1\n\"quoted\" word\t0\n")
    assert read(tsv) == (["a, b; c | d", "quoted word"], [1, 0])
    piped = write(tmp_path / "train.dat", "text|label\nx, y|a\nz|b\n")
    assert read(piped, delimiter="|") == (["x, y", "z"], ["a", "b"])
    tab = write(tmp_path / "tab.txt", "label\ttext\nb\tone\na\ttwo\n")  # .txt, not fastText
    assert read(tab, delimiter="\\t") == (["one", "two"], ["b", "a"])


def test_quoted_field_with_newlines_and_crlf(tmp_path):
    path = write(tmp_path / "multi.csv", 'text,label\r\n"first line\r\nsecond, line",pos\r\n'
                                         '"say ""hi""",neg\r\n')
    assert read(path) == (["first line\r\nsecond, line", 'say "hi"'], ["pos", "neg"])


def test_columns_by_name_index_and_digit_string(tmp_path):
    path = write(tmp_path / "trec.csv", "question,coarse,fine\nWho?,HUM,HUM:ind\n"
                                        "Where?,LOC,LOC:city\n")
    assert read(path) == (["Who?", "Where?"], ["HUM", "LOC"])  # known names
    assert read(path, label_column="fine")[1] == ["HUM:ind", "LOC:city"]
    assert read(path, label_column=2)[1] == ["HUM:ind", "LOC:city"]
    assert read(path, label_column="2", text_column="0")[1] == ["HUM:ind", "LOC:city"]
    assert read(path, label_column="COARSE")[1] == ["HUM", "LOC"]  # any case
    numbered = write(tmp_path / "numbered.csv", "1,0\nx,y\nw,z\n")  # names, not numbers
    assert read(numbered, header=True, text_column="0", label_column="1") == (["y", "z"],
                                                                              ["x", "w"])
    other = write(tmp_path / "two.csv", "comment,label\nnice,a\nbad,b\n")
    assert read(other)[0] == ["nice", "bad"]  # two columns: the text is the other one


def test_json_lines(tmp_path):
    lines = ['\ufeff{"text": "good", "label": 1, "id": "a"}', "", '{"text": "bad", "label": 0}',
             '{"label": 1, "text": "so-so"}  ', ""]
    path = write(tmp_path / "train.jsonl", "\n".join(lines))
    assert read(path) == (["good", "bad", "so-so"], [1, 0, 1])
    same = write(tmp_path / "train.json", "\n".join(lines))
    assert read(same) == read(path)
    keyed = write(tmp_path / "k.ndjson", '{"body": "x", "topic": "a"}\n{"body": "y", '
                                         '"topic": "b"}\n')
    assert read(keyed, label_column="topic") == (["x", "y"], ["a", "b"])
    digits = write(tmp_path / "digits.jsonl", '{"text": "x", "label": "2"}\n'
                                              '{"text": "y", "label": 10}\n')
    assert read(digits) == (["x", "y"], [2, 10])  # "2" is an integer as in a CSV


def test_fasttext(tmp_path):
    path = write(tmp_path / "train.txt", "__label__pos loved it , really\n\n"
                                         "__label__neg\tnot  for me\r\n__label__pos ok\n")
    assert read(path) == (["loved it , really", "not  for me", "ok"], ["pos", "neg", "pos"])
    numbered = write(tmp_path / "stars.ft", "__label__5 top\n__label__1 bottom\n")
    assert read(numbered) == (["top", "bottom"], [5, 1])


def test_folder_per_class(tmp_path):
    root = write_tree(tmp_path / "reviews", CLASS_FILES)
    assert read(root) == (FOLDER_TEXTS, FOLDER_LABELS)
    assert read(root, format="folder") == (FOLDER_TEXTS, FOLDER_LABELS)
    assert read(root, classes=["pos", "neg"]) == (["a delight", *FOLDER_TEXTS[:2]],
                                                  ["pos", "neg", "neg"])
    assert read(tmp_path) == (FOLDER_TEXTS, FOLDER_LABELS)  # one folder and nothing else


@pytest.mark.parametrize("name", ["data.tar.gz", "data.tgz", "data.tar", "data.tar.bz2",
                                  "data.zip"])
def test_folder_inside_an_archive(tmp_path, name):
    files = {f"reviews/{k}": v for k, v in CLASS_FILES.items()}
    files["__MACOSX/reviews/._a.txt"] = b"\x00\x05junk"  # macOS adds these to zips
    path = write_archive(tmp_path / name, files)
    assert read(path) == (FOLDER_TEXTS, FOLDER_LABELS)  # descends into reviews/
    assert read(path / "reviews") == (FOLDER_TEXTS, FOLDER_LABELS)
    assert read(path / "reviews", classes=["pos"]) == (["a delight"], ["pos"])


def test_path_into_an_imdb_archive_with_classes(tmp_path):
    archive = write_imdb_archive(tmp_path / "aclImdb_v1.tar.gz", per_label=3)
    data = read_labelled(archive / "aclImdb" / "train", classes=["neg", "pos"])
    assert data.labels.tolist() == ["neg"] * 3 + ["pos"] * 3  # unsup and urls_*.txt skipped
    assert data.source == str(archive / "aclImdb" / "train")
    assert all("unlabelled" not in t for t in data.texts)
    assert set(read_labelled(archive / "aclImdb" / "train").labels) == {"neg", "pos", "unsup"}


def test_read_texts(tmp_path):
    lines = write(tmp_path / "new.txt", "first review\n\n  second, with comma\r\n")
    assert read_texts(lines) == ["first review", "  second, with comma"]
    assert read_texts(write(tmp_path / "ft.txt", "__label__a x\n__label__b y\n")) == ["x", "y"]
    assert read_texts(write(tmp_path / "t.csv", "text,label\nx,1\ny,0\n")) == ["x", "y"]
    assert read_texts(write(tmp_path / "one.csv", "comment\nnice\nbad\n"), header=True) \
        == ["nice", "bad"]
    assert read_texts(write(tmp_path / "t.jsonl", '{"text": "x"}\n{"text": "y"}\n')) \
        == ["x", "y"]
    flat = write_tree(tmp_path / "flat", {"2.txt": "two", "1.txt": "one", "x.csv": "skip"})
    assert read_texts(flat) == ["one", "two"]
    assert read_texts(write_tree(tmp_path / "classes", CLASS_FILES)) == FOLDER_TEXTS


def test_classes_keep_only_those_rows_of_a_file(tmp_path):
    path = write(tmp_path / "three.csv", "text,label\na,pos\nb,neutral\nc,neg\n")
    assert read(path, classes=["neg", "pos"]) == (["a", "c"], ["pos", "neg"])
    numbered = write(tmp_path / "n.csv", "text,label\na,1\nb,-1\nc,0\n")
    assert read(numbered, classes=["0", "1"]) == (["a", "c"], [1, 0])


def test_take_keeps_the_source():
    data = LabelledTexts(np.array(["a", "b", "c"], dtype=object), np.array([1, 2, 3]), "s")
    part = data.take([2, 0])
    assert list(part.texts) == ["c", "a"] and part.labels.tolist() == [3, 1]
    assert part.source == "s" and len(part) == 2


# ------------------------------------------------------------------- errors


def big_csv_with_bad_byte() -> bytes:
    body = b"".join(b"row %d is fine,%d\n" % (i, i % 2) for i in range(30_000))
    return b"text,label\n" + body + b"caf\xe9 latin-1,1\n"


ERRORS = [  # (file name, content, read_labelled options, message fragment)
    ("empty.csv", "", {}, "empty.csv is empty"),
    ("blank.jsonl", "\n  \n", {}, "blank.jsonl is empty"),
    ("header.csv", "text,label\n", {}, "header.csv has no rows (only a header)"),
    ("cols.csv", "text,label\na,1\n", {"text_column": "body"},
     "no column 'body' (columns: text, label)"),
    ("cols.csv", "text,label\na,1\n", {"label_column": 5}, "no column 5 (2 columns: text, label"),
    ("nohead.csv", "a,1\nb,2\n", {"text_column": "review", "header": False},
     "has no header row, so its columns go by number (0 to 1)"),
    ("three.csv", "a,b,c\nx,y,z\n", {"header": True}, "has no text column called text or"),
    ("three.csv", "text,b,c\nx,y,z\n", {}, "no label column called label or labels"),
    ("same.csv", "text,label\nx,y\n", {"label_column": "text", "text_column": 0},
     "the text and the label cannot be the same column (text)"),
    ("one.csv", "text\nx\ny\n", {}, "has only one column (columns: text)"),
    ("blanktext.csv", "text,label\nok,1\n\"\n\",0\n", {}, "blanktext.csv line 3: the text is "
                                                          "empty"),
    ("blanklabel.csv", "text,label\nok,1\n\"a\nb\",\nc,1\n", {}, "line 3: the label is empty"),
    ("short.csv", "text,label\nok,1\nno label here\n", {}, "line 3: the label is empty"),
    ("bad.csv", big_csv_with_bad_byte(), {}, "bad.csv line 30002 is not UTF-8 text"),
    ("bad.jsonl", b'{"text": "a", "label": 1}\n{"text": "caf\xe9", "label": 1}\n', {},
     "bad.jsonl line 2 is not UTF-8 text"),
    ("bad.txt", b"__label__a x\n__label__b caf\xe9\n", {}, "bad.txt line 2 is not UTF-8"),
    ("nul.csv", b"text,label\na\x00b,1\n", {}, "nul.csv is a binary file"),
    ("nul.jsonl", b'{"text": "a", "label": 1}\n' * 7000 + b'{"text": "\x00"}\n', {},
     "binary file, not text (NUL byte on line 7001)"),
    ("ragged.csv", 'text,label\n"two\nlines",1\n\nb,2,3\nc,4\n', {},
     "ragged.csv line 5: 3 fields where the rows before have 2"),
    ("quote.csv", 'text,label\na,1\n"never closed,2\nc,4\n', {},
     "quote.csv line 3: a quoted field is never closed"),
    ("long.csv", "text,label\na,1,extra\nb,2,extra\n", {}, "long.csv line 2: more fields than"),
    ("mixed.csv", "text,label\na,1\nb,2\n\nc,other\n", {},
     "labels mix integers and strings ('1' on line 2, 'other' on line 5)"),
    ("mixed.jsonl", '{"text": "a", "label": "pos"}\n\n{"text": "b", "label": 1}\n', {},
     "labels mix integers and strings (1 on line 3, 'pos' on line 1)"),
    ("huge.csv", f"text,label\na,{10**20}\nb,1\n", {}, "too large for a 64-bit integer"),
    ("bool.jsonl", '{"text": "a", "label": true}\n', {}, "line 1: the label 'label' is a "
                                                         "boolean (true)"),
    ("float.jsonl", '{"text": "a", "label": 1.5}\n', {}, "line 1: the label 'label' is a "
                                                         "number (1.5)"),
    ("null.jsonl", '{"text": "a", "label": 1}\n{"text": "b", "label": null}\n', {},
     "line 2: the label 'label' is null"),
    ("list.jsonl", '{"text": "a", "label": [1, 2]}\n', {}, "the label 'label' is a list"),
    ("nokey.jsonl", '{"text": "a", "label": 1}\n{"text": "b"}\n', {},
     "nokey.jsonl line 2 has no key 'label' (keys: text)"),
    ("keys.jsonl", '{"text": "a", "label": 1}\n', {"text_column": "body"},
     "no key 'body' (keys: text, label)"),
    ("numtext.jsonl", '{"text": 5, "label": 1}\n', {}, "line 1: 'text' is a number (5), not a "
                                                       "string"),
    ("emptytext.jsonl", '{"text": "a", "label": 1}\n{"text": " ", "label": 1}\n', {},
     "emptytext.jsonl line 2: the text is empty"),
    ("broken.jsonl", '{"text": "a", "label": 1}\n{"text": "b", label: 1}\n', {},
     "broken.jsonl line 2: not valid JSON"),
    ("array.jsonl", '{"text": "a", "label": 1}\n[1, 2]\n', {}, "line 2: not a JSON object"),
    ("array.json", '[{"text": "a", "label": 1}]', {}, "array.json is not JSON Lines"),
    ("multi.txt", "__label__a one\n__label__a __label__b two\n", {},
     "multi-label lines are not supported (line 2)"),
    ("nolabel.txt", "__label__a one\nplain line\n", {}, "line 2 does not start with __label__"),
    ("notext.txt", "__label__a one\n__label__b   \n", {}, "notext.txt line 2: the text is empty"),
    ("dup.csv", "text,label\na,x\nb,y\n", {"classes": ["x", "x"]}, "name 'x' twice"),
    ("none.csv", "text,label\na,x\nb,y\n", {"classes": ["z", "w"]}, "no rows labelled z, w"),
    ("fmt.csv", "text,label\na,x\n", {"format": "parquet"}, "unknown format 'parquet'"),
    ("fmt.csv", "text,label\na,x\n", {"format": "folder"}, "is a file, not a folder"),
]


@pytest.mark.parametrize("name, content, options, message", ERRORS,
                         ids=[f"{e[0]}-{e[3][:30]}" for e in ERRORS])
def test_mistakes_in_a_file_are_usage_errors_naming_it(tmp_path, name, content, options,
                                                       message):
    path = write(tmp_path / name, content)
    with pytest.raises(UsageError) as caught:
        read_labelled(path, **options)
    text = str(caught.value)
    assert message in text and "\n" not in text.strip()
    assert name in text or "format" in text or "twice" in text


FOLDER_ERRORS = [  # (files under the root, options, message fragment)
    ({"a.txt": "loose text"}, {}, "has no class folders"),
    ({"pos/a.txt": "x", "neg/a.md": "y"}, {}, "neg has no .txt files"),
    ({"pos/a.txt": "x", "neg/a.txt": "y"}, {"classes": ["pos", "neutral"]},
     "has no class folder 'neutral' (folders: neg, pos)"),
    ({"pos/a.txt": "x", "neg/a.txt": "  \n"}, {}, "neg/a.txt: the text is empty"),
    ({"pos/a.txt": "x", "neg/b.txt": b"ok\ncaf\xe9"}, {}, "neg/b.txt is not UTF-8 text (line 2)"),
    ({"pos/a.txt": "x", "neg/b.txt": b"\x89PNG\x00\x00"}, {}, "neg/b.txt is a binary file"),
    ({"pos/a.txt": "x", "neg/b.txt": "y"}, {"format": "csv"}, "is a folder, not a csv file"),
]


@pytest.mark.parametrize("files, options, message", FOLDER_ERRORS)
@pytest.mark.parametrize("container", ["folder", "archive"])
def test_mistakes_in_a_folder_are_usage_errors(tmp_path, files, options, message, container):
    if container == "folder":
        path = write_tree(tmp_path / "data", files)
    else:
        path = write_archive(tmp_path / "data.zip", {f"data/{k}": v for k, v in files.items()})
        message = message.replace("is a folder", "is an archive")
    with pytest.raises(UsageError) as caught:
        read_labelled(path, **options)
    assert message in str(caught.value) and "data" in str(caught.value)


def test_missing_paths_and_broken_archives(tmp_path):
    with pytest.raises(UsageError, match="not found: .*nothing.csv"):
        read_labelled(tmp_path / "nothing.csv")
    with pytest.raises(UsageError, match="not found: .*a.csv/b"):
        read_labelled(write(tmp_path / "a.csv", "text,label\nx,1\n") / "b")
    archive = write_archive(tmp_path / "data.tar.gz", {f"data/{k}": v
                                                       for k, v in CLASS_FILES.items()})
    with pytest.raises(UsageError, match=r"data.tar.gz has no folder data/train \(at its top: "
                                         r"data\)"):
        read_labelled(archive / "data" / "train")
    truncated = write(tmp_path / "cut.tar.gz", archive.read_bytes()[:-40])
    corrupt = write(tmp_path / "bad.zip", b"PK\x03\x04" + b"\x07" * 200)
    for broken in (truncated, corrupt):
        with pytest.raises(UsageError, match="truncated or corrupt archive"):
            read_labelled(broken)
    with pytest.raises(UsageError, match="not found"):
        read_texts(tmp_path / "gone.txt")


# ------------------------------------------------------------------ helpers


def test_class_names():
    assert class_names(np.array([10, 2, 2, -1])) == ["-1", "2", "10"]  # numerically
    assert class_names(np.array(["pos", "neg", "pos"], dtype=object)) == ["neg", "pos"]
    assert class_names(np.array(["pos", "neg"], dtype=object), ["pos", "neg", "neutral"]) \
        == ["pos", "neg", "neutral"]  # as given: the order is the user's
    assert class_names(np.array([1, 0]), ["0", "1"]) == ["0", "1"]
    for labels, classes, message in [
            (np.array(["pos", "pos"], dtype=object), None, "only one class (pos) in the"),
            (np.array(["pos", "neg"], dtype=object), ["pos"], "'neg' is not one of the classes"),
            (np.array([3, 1]), ["1", "2"], "training label 3 is not one of the classes (1, 2)"),
            (np.array([1]), ["1"], "only one class (1)"),
            (np.array([], dtype=np.int64), None, "no training labels"),
            (np.array([1, 2]), ["1", "2", "1"], "name '1' twice")]:
        with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
            class_names(labels, classes)


def test_label_ids():
    data = LabelledTexts(np.array(["a", "b", "c"], dtype=object),
                         np.array(["pos", "neg", "pos"], dtype=object), "t.csv")
    ids = label_ids(data, ["neg", "pos"], "train")
    assert ids.dtype == np.int32 and ids.tolist() == [1, 0, 1]
    numbers = LabelledTexts(data.texts, np.array([10, 2, 10]), "t.csv")
    assert label_ids(numbers, class_names(numbers.labels), "train").tolist() == [1, 0, 1]
    assert label_ids(numbers.take([]), ["2", "10"], "test").tolist() == []
    with pytest.raises(UsageError, match=r"test label 'pos' in t.csv was never seen in "
                                         r"training \(classes: neg, neutral\)"):
        label_ids(data, ["neg", "neutral"], "test")


def labelled(counts: dict[str, int]) -> LabelledTexts:
    labels = [label for label, n in counts.items() for _ in range(n)]
    order = np.random.default_rng(1).permutation(len(labels))  # classes interleaved
    labels = np.array(labels, dtype=object)[order]
    texts = np.array([f"text {i}" for i in range(len(labels))], dtype=object)
    return LabelledTexts(texts, labels, "mem")


def test_stratified_split_holds_out_each_class_in_proportion():
    data = labelled({"a": 100, "b": 30, "c": 5, "d": 2, "e": 1})
    rest, held = stratified_split(data, 0.1, seed=0)
    counts = {c: int((held.labels == c).sum()) for c in "abcde"}
    assert counts == {"a": 10, "b": 3, "c": 1, "d": 1, "e": 0}  # 0.5 rounds up; >= 1 of 2+
    assert sorted(list(rest.texts) + list(held.texts)) == sorted(data.texts)  # complete
    assert not set(rest.texts) & set(held.texts)  # disjoint
    position = {t: i for i, t in enumerate(data.texts)}
    for part in (rest, held):  # original order kept
        assert [position[t] for t in part.texts] == sorted(position[t] for t in part.texts)
    again = stratified_split(data, 0.1, seed=0)[1]
    other = stratified_split(data, 0.1, seed=1)[1]
    assert list(again.texts) == list(held.texts) and list(other.texts) != list(held.texts)
    assert stratified_split(data, 0.9, seed=0)[0].labels.tolist().count("d") == 1  # never all
    assert len(stratified_split(data, 0.0, seed=0)[1]) == 0
    with pytest.raises(UsageError, match="at least 0 and below 1"):
        stratified_split(data, 1.0, seed=0)


def test_formats_are_the_documented_ones():
    assert FORMATS == ("auto", "csv", "tsv", "jsonl", "fasttext", "folder")


# --------------------------------------------------------- tensorflow-datasets


@pytest.fixture(scope="module")
def tfds_dir(tmp_path_factory) -> Path:
    """A dataset written in the real TFDS format, found again by its name."""
    import tensorflow_datasets as tfds

    tfds.disable_progress_bar()
    data_dir = tmp_path_factory.mktemp("tfds")
    features = tfds.features.FeaturesDict({
        "text": tfds.features.Text(), "title": tfds.features.Text(),
        "label": tfds.features.ClassLabel(names=["neg", "pos"]),
        "stars": tfds.features.Scalar(dtype=np.int64)})

    def rows(texts, labels):
        return [(i, {"text": t, "title": f"title {i}", "label": y, "stars": 5 * y})
                for i, (t, y) in enumerate(zip(texts, labels))]

    tfds.dataset_builders.store_as_tfds_dataset(
        name="my_reviews", version="1.0.0", data_dir=data_dir, features=features,
        disable_shuffling=True, split_datasets={
            "train": rows(["good", "bad", "fine", "caf\u00e9 awful"], [1, 0, 1, 0]),
            "dev": rows(["nice"], [1]), "unsupervised": rows(["?"], [0]),
            "test": rows(["not labelled", "nor this"], [-1, -1])})  # as in GLUE
    return data_dir


def test_tfds_dataset_by_name(tfds_dir):
    splits, names = load_tfds("my_reviews", text_feature="text", data_dir=tfds_dir)
    assert names == ["neg", "pos"]
    assert set(splits) == {"train", "validation"}  # the unlabelled test split is left out
    train = splits["train"]
    assert list(train.texts) == ["good", "bad", "fine", "caf\u00e9 awful"]
    assert train.labels.dtype == np.int64 and train.labels.tolist() == [1, 0, 1, 0]
    assert train.source == "tfds:my_reviews/train"
    assert list(splits["validation"].texts) == ["nice"]
    stars, names = load_tfds("my_reviews", text_feature="title", label_feature="stars",
                             data_dir=tfds_dir)
    assert names is None and stars["train"].labels.tolist() == [5, 0, 5, 0]
    assert stars["train"].texts[0] == "title 0"


@pytest.mark.parametrize("name, options, message", [
    ("my_reviews", {}, "my_reviews has several text features (text, title); name its text"),
    ("my_reviews", {"text_feature": "body"}, "my_reviews has no feature 'body' (features: "),
    ("my_reviews", {"text_feature": "text", "label_feature": "stars2"}, "no feature 'stars2'"),
    ("no_such_dataset_xyz", {}, "unknown tensorflow-datasets dataset 'no_such_dataset_xyz'"),
])
def test_tfds_mistakes(tfds_dir, name, options, message):
    with pytest.raises(UsageError) as caught:
        load_tfds(name, data_dir=tfds_dir, **options)
    assert message in str(caught.value)


# ------------------------------------------------------------ the real data


@pytest.mark.skipif(not TEXT_CLASSIFICATION.is_dir(), reason="no shared text_classification data")
def test_the_shared_sentence_classification_sets():
    trec = read_labelled(TEXT_CLASSIFICATION / "trec" / "train.csv", label_column="coarse")
    assert len(trec) == 5452
    assert class_names(trec.labels) == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
    assert trec.texts[0] == "How did serfdom develop in and then leave Russia ?"
    sst2 = read_labelled(TEXT_CLASSIFICATION / "sst2" / "train.tsv")
    assert len(sst2) == 67349 and sst2.labels.dtype == np.int64
    assert class_names(sst2.labels) == ["0", "1"]
    assert sst2.texts[0] == "hide new secretions from the parental units"
    sst5 = read_labelled(TEXT_CLASSIFICATION / "sst5" / "train.jsonl")
    assert len(sst5) == 8544 and class_names(sst5.labels) == ["0", "1", "2", "3", "4"]
    test = read_labelled(TEXT_CLASSIFICATION / "sst5" / "test.jsonl")
    ids = label_ids(test, class_names(sst5.labels), "test")
    assert len(ids) == 2210 and set(ids.tolist()) == {0, 1, 2, 3, 4}
    assert len(read_texts(TEXT_CLASSIFICATION / "trec" / "test.csv")) == 500
    rest, held = stratified_split(trec, 0.1, seed=0)
    assert len(rest) + len(held) == 5452 and abs(len(held) - 545) <= 6
