"""Text classification settings: any labelled texts -> a recurrent classifier.

No TensorFlow here: the command line builds ``--help`` from these fields.
``TextModel`` is also the model section of ``sentiment`` (its IMDB preset
of the same model).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Optional

from rnnapps.config import (
    CELLS,
    Bool,
    Choice,
    Float,
    Int,
    RNNConfig,
    TaskConfig,
    TrainConfig,
    option,
    with_defaults,
)
from rnnapps.data.labelled import FORMATS  # no TensorFlow there either

TOKENS = ("word", "char")
STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation", "none")
CLASS_WEIGHTS = ("none", "balanced")


@dataclass
class ClassifyData:
    """Where the labelled texts come from and how they become token ids."""

    data: Optional[str] = option(
        None, "training texts: a CSV/TSV, JSON Lines or fastText file, or a folder per "
        "class (also inside a .tar.gz/.zip, e.g. aclImdb_v1.tar.gz/aclImdb/train)")
    val_data: Optional[str] = option(
        None, "validation texts in the same format (default: a stratified part of --data)")
    test_data: Optional[str] = option(
        None, "test texts in the same format (default: a stratified part of --data)")
    tfds: Optional[str] = option(
        None, "a tensorflow-datasets dataset with a text and a class-label feature, "
        "instead of --data (e.g. ag_news_subset)")
    tfds_dir: Optional[str] = option(
        None, "where tensorflow-datasets keeps prepared data (default: its own)")
    text_column: Optional[str] = option(
        None, "column (name or 0-based index), JSON key or TFDS feature of the text "
        "(default: text, sentence, review, body, content, question or document)")
    label_column: Optional[str] = option(
        None, "column, JSON key or TFDS feature of the label (default: label, class, "
        "category, target, sentiment or coarse)")
    format: str = option("auto", "file format (auto: from the name and first line)",
                         choices=FORMATS)
    delimiter: Optional[str] = option(
        None, "CSV field delimiter (default: tab for .tsv, else sniffed)")
    classes: Optional[str] = option(
        None, "comma-separated class names: fixes their order and, for a folder per "
        "class, which subfolders are read (e.g. neg,pos)")
    validation_split: float = option(
        0.1, "fraction of the training texts held out for validation (stratified) "
        "when there is no validation data", low=0.0, high=1.0, open_high=True)
    test_split: float = option(
        0.1, "fraction of the training texts held out for test (stratified) when there "
        "is no test data", low=0.0, high=1.0, open_high=True)
    tokens: str = option("word", "tokens: words, or characters for short or noisy text",
                         choices=TOKENS)
    max_tokens: int = option(20000, "vocabulary size, padding and OOV included", low=3)
    seq_length: Optional[int] = option(
        None, "tokens per text, longer ones are cut (default: the 99th percentile of "
        "the training texts' lengths)", low=1)
    standardize: str = option(
        "lower_and_strip_punctuation", "how texts are cleaned before they are split: "
        "Keras's TextVectorization standardisations (keep punctuation with 'lower' when "
        "the texts are already tokenised, as SST's are)", choices=STANDARDIZE)
    bucket_by_length: bool = option(
        False, "batch training texts of similar length together, so less padding is "
        "computed (same texts per epoch, grouped differently)")
    class_weight: str = option(
        "none", "weigh each class's loss by the inverse of its frequency (balanced), "
        "for skewed data", choices=CLASS_WEIGHTS)


@dataclass
class TextModel(RNNConfig):
    """Embedding -> recurrent stack -> pooling [+ n-gram detectors] -> sigmoid or softmax."""

    embedding_dim: int = option(128, "size of the token embedding", low=1)
    bigram_buckets: int = option(0, "also embed each pair of adjacent tokens, hashed into "
                                 "this many rows (0: words only)", low=0)
    pooling: str = option("last", "how the sequence is summarised: the last state, or the "
                          "maximum over time of every step's output", choices=("last", "max"))
    ngram_filters: int = option(0, "also this many convolutional n-gram detectors of "
                                "each width 3, 4 and 5, max-pooled over time and joined "
                                "to the recurrent summary (0: none)", low=0)


ClassifyModel = with_defaults(TextModel, cell="gru", units=64, layers=1, bidirectional=True,
                              pooling="max", dropout=0.3)
ClassifyTrain = with_defaults(TrainConfig, epochs=10, batch_size=64, patience=3,
                              monitor="val_accuracy")


@dataclass
class ClassifyConfig(TaskConfig):
    """Text classification on any labelled texts, any number of classes."""

    task: ClassVar[str] = "classify"
    objective: ClassVar[str] = "val_accuracy"
    presets: ClassVar[dict] = {
        "reference": {},
        # TREC's settings (90.4 % +- 0.4 test accuracy over five seeds,
        # benchmarks/results/seeds/); the Stanford Sentiment Treebank's texts are already
        # tokenised (punctuation is a token) and its test sentences are longer
        # than most training phrases, hence a fixed sequence length there.
        "best": {"batch_size": 64, "dropout": 0.6, "learning_rate": 5e-4, "epochs": 30,
                 "patience": 6, "ngram_filters": 200, "units": 128},
        "best-sst2": {"standardize": "lower", "seq_length": 64, "batch_size": 64,
                      "epochs": 4, "ngram_filters": 100},
        "best-sst5": {"standardize": "lower", "seq_length": 64, "batch_size": 32,
                      "dropout": 0.5, "learning_rate": 5e-4, "epochs": 20, "patience": 4,
                      "ngram_filters": 200},
    }
    search_space: ClassVar[dict] = {
        "cell": Choice(CELLS), "units": Int(32, 256, step=32), "layers": Int(1, 2),
        "bidirectional": Bool(), "dropout": Float(0.0, 0.6),
        "embedding_dim": Choice((64, 128, 256)), "pooling": Choice(("last", "max")),
        "ngram_filters": Choice((0, 100, 200)),
        "learning_rate": Float(1e-4, 1e-2, log=True), "batch_size": Choice((32, 64, 128)),
    }
    data: ClassifyData = field(default_factory=ClassifyData)
    model: ClassifyModel = field(default_factory=ClassifyModel)
    train: ClassifyTrain = field(default_factory=ClassifyTrain)


Config = ClassifyConfig
