"""Text-generation settings: which text, its windows, the character model.

No TensorFlow here: the command line builds ``--help`` from these fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Optional

from rnnapps.config import (
    Choice,
    Float,
    Int,
    RNNConfig,
    TaskConfig,
    TrainConfig,
    check_chronological_split,
    option,
    with_defaults,
)
from rnnapps.errors import UsageError


@dataclass
class TextgenData:
    """Where the text comes from and how it is cut into training windows."""

    data: Optional[str] = option(
        None, "Tiny Shakespeare offline: a TFDS manual dir holding input.txt, or that "
        "input.txt (default: $RNNAPPS_DATA_DIR/tiny_shakespeare, then tensorflow-datasets)")
    corpus: Optional[str] = option(
        None, "any UTF-8 text file instead of Tiny Shakespeare (split in order: "
        "train, validation, test)")
    tfds_dir: Optional[str] = option(
        None, "where tensorflow-datasets keeps prepared data (default: its own, "
        "$TFDS_DATA_DIR or ~/tensorflow_datasets)")
    seq_length: int = option(100, "characters per training window", low=1)
    val_fraction: float = option(0.05, "--corpus: fraction of the text (after train) "
                                 "for validation", low=0.0, high=1.0, open_high=True)
    test_fraction: float = option(0.05, "--corpus: fraction of the text (the end) for test",
                                  low=0.0, high=1.0, open_high=True)


@dataclass
class TextgenModel(with_defaults(RNNConfig, cell="gru", units=512, layers=1)):
    """Embedding -> recurrent layers (state in and out) -> Dense(vocabulary) logits.

    GRU(512), not the TensorFlow tutorial's GRU(1024): on 2 CPU cores a step of
    64 x 100 characters took 1.7 s with 512 units (0.5 s with 256), and the cost
    grows with units squared, so 1024 units would need over a quarter of an hour
    per Tiny Shakespeare epoch.
    """

    embedding_dim: int = option(256, "size of the character embedding", low=1)


TextgenTrain = with_defaults(TrainConfig, epochs=10, batch_size=64, clip_norm=5.0)
"""The shared loop's settings, with the text-generation tutorial's batch size."""


@dataclass
class TextgenConfig(TaskConfig):
    """Character-level language model and text generator."""

    task: ClassVar[str] = "textgen"
    presets: ClassVar[dict] = {
        "reference": {},
        "best": {"learning_rate": 2e-3, "epochs": 10, "patience": 2},
        # The shortest measured wait for best's 1.47 nats/char: bfloat16 runs a step
        # about 1.4x faster than float32 (float32 where the CPU lacks it), and the
        # higher rate keeps best's seven epochs to the target (docs/performance.md).
        "fast": {"learning_rate": 3e-3, "epochs": 10, "patience": 2,
                 "precision": "mixed_bfloat16"},
    }
    search_space: ClassVar[dict] = {
        "cell": Choice(("lstm", "gru")), "units": Int(128, 512, step=128), "layers": Int(1, 2),
        "embedding_dim": Choice((64, 128, 256)), "dropout": Float(0.0, 0.3),
        "learning_rate": Float(1e-4, 1e-2, log=True), "clip_norm": Float(0.5, 5.0, log=True),
        "batch_size": Choice((32, 64, 128)), "seq_length": Choice((50, 100, 200)),
    }
    data: TextgenData = field(default_factory=TextgenData)
    model: TextgenModel = field(default_factory=TextgenModel)
    train: TextgenTrain = field(default_factory=TextgenTrain)

    def validate(self) -> None:
        """Checks the bounds of every field, then how the options fit together.

        Raises:
            UsageError: Naming the first bad option.
        """
        super().validate()
        data = self.data
        if data.data is not None and data.corpus is not None:
            raise UsageError("give --data (Tiny Shakespeare) or --corpus (your text), not both")
        check_chronological_split(data.val_fraction, data.test_fraction)
        if data.val_fraction <= 0.0:
            raise UsageError(f"val_fraction must be > 0, got {data.val_fraction!r}")
        if self.model.bidirectional:
            raise UsageError("bidirectional layers cannot generate text: they read the "
                             "characters they are asked to predict")


Config = TextgenConfig
