"""Sentiment settings: IMDB reviews -> token ids -> a recurrent classifier.

No TensorFlow here: the command line builds ``--help`` from these fields.
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
    TaskConfig,
    TrainConfig,
    option,
)
from rnnapps.tasks.classify.config import TextModel


@dataclass
class SentimentData:
    """Where the IMDB reviews come from and how they become token ids."""

    data: Optional[str] = option(
        None, "aclImdb folder or aclImdb_v1.tar.gz, or 'sample' for the 2,600 short "
        "reviews shipped with rnnapps (default: $RNNAPPS_DATA_DIR, then "
        "tensorflow-datasets)")
    tfds_dir: Optional[str] = option(
        None, "where tensorflow-datasets keeps prepared data (default: its own, "
        "$TFDS_DATA_DIR or ~/tensorflow_datasets)")
    max_tokens: int = option(10000, "vocabulary size, padding and OOV included",
                             low=3)
    seq_length: int = option(200, "tokens per review (longer ones are cut)", low=1)
    validation_split: float = option(
        0.2, "fraction of the training reviews held out for validation",
        low=0.0, high=1.0, open_high=True)
    bucket_by_length: bool = option(
        False, "batch training reviews of similar length together, so less padding is "
        "computed (same reviews per epoch, grouped differently)")
    teacher: Optional[str] = option(
        None, "self-training: an exported sentiment SavedModel whose probabilities label "
        "the 50,000 unlabelled IMDB reviews, which then join the training reviews")


SentimentModel = TextModel
"""Embedding -> recurrent stack -> Dense(1, sigmoid): the text classifier's model section."""


@dataclass
class SentimentConfig(TaskConfig):
    """IMDB sentiment classification."""

    task: ClassVar[str] = "sentiment"
    objective: ClassVar[str] = "val_accuracy"
    presets: ClassVar[dict] = {
        "reference": {},
        # The learning rate decays to 0 over the three epochs: at a constant
        # rate the pair table memorises the training reviews in the third.
        # With --teacher, the same settings train the self-training student.
        "best": {"cell": "gru", "bidirectional": True, "units": 64, "layers": 1,
                 "max_tokens": 40000, "seq_length": 800, "validation_split": 0.05,
                 "embedding_dim": 64, "bigram_buckets": 262144, "pooling": "max",
                 "dropout": 0.5, "bucket_by_length": True, "batch_size": 64,
                 "learning_rate": 5e-4, "lr_schedule": "cosine", "epochs": 3,
                 "monitor": "val_accuracy"},
        # The shipped sample, trained in about 30 s on two CPU cores: a small
        # BiGRU, because 1,600 training reviews cannot feed the reference's
        # two LSTM(128) layers; word pairs add four points on it.
        "sample": {"data": "sample", "cell": "gru", "bidirectional": True, "units": 32,
                   "layers": 1, "embedding_dim": 64, "bigram_buckets": 65536,
                   "pooling": "max", "dropout": 0.3, "seq_length": 128, "epochs": 6,
                   "learning_rate": 2e-3, "lr_schedule": "cosine"},
    }
    search_space: ClassVar[dict] = {
        "cell": Choice(CELLS), "units": Int(32, 256, step=32), "layers": Int(1, 2),
        "bidirectional": Bool(), "dropout": Float(0.0, 0.5),
        "learning_rate": Float(1e-4, 1e-2, log=True), "clip_norm": Float(0.5, 5.0, log=True),
        "batch_size": Choice((32, 64, 128)), "max_tokens": Choice((5000, 10000, 20000)),
        "seq_length": Choice((100, 200, 400)),
    }
    data: SentimentData = field(default_factory=SentimentData)
    model: SentimentModel = field(default_factory=SentimentModel)
    train: TrainConfig = field(default_factory=TrainConfig)


Config = SentimentConfig
