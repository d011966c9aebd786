"""Text-classification datasets from tensorflow-datasets, by name: the
text and label features found, the splits mapped to train, validation and
test."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from rnnapps.data.labelled.labels import LabelledTexts, _object_array
from rnnapps.data.tfds import prepared_builder
from rnnapps.errors import UsageError


def load_tfds(name: str, *, text_feature: str | None = None,
              label_feature: str | None = None,
              data_dir: str | Path | None = None, verbose: int = 1
              ) -> tuple[dict[str, LabelledTexts], list[str] | None]:
    """Loads a text-classification dataset from tensorflow-datasets.

    The dataset is downloaded and prepared first if needed. A name TFDS has
    no code for is looked up among the prepared datasets in ``data_dir``
    (e.g. one written by ``tfds.dataset_builders.store_as_tfds_dataset``).

    Args:
        name: The dataset (``"imdb_reviews"``, ``"ag_news_subset"``, or with a
            config or version: ``"glue/sst2"``).
        text_feature: The text feature; None: the only text feature (or the
            dataset's supervised input among several).
        label_feature: The label feature; None: the only ``ClassLabel``
            (or the supervised target among several).
        data_dir: Where TFDS keeps prepared datasets (None: its default).
        verbose: 1 for TFDS's download progress, 0 for no TFDS output.

    Returns:
        ``({"train": ..., "validation": ..., "test": ...}, names)`` with the
        splits the dataset has ("validation" is TFDS's ``validation`` or
        ``dev``), and the ``ClassLabel``'s names in id order (the labels are
        then the ids), or None when the label is not a ``ClassLabel``. A
        split whose ``ClassLabel`` is -1 on every row (unlabelled, like
        GLUE's test sets) is left out.

    Raises:
        UsageError: If the dataset is unknown, cannot be downloaded (offline),
            its text or label feature is missing or ambiguous, or a split
            has some rows labelled -1 (unlabelled) and some not.
    """
    import tensorflow_datasets as tfds

    builder = prepared_builder(name, data_dir=data_dir, verbose=verbose, hint=(
        "pass your texts as a file or folder with --data, or --tfds-dir to a folder where "
        f"tensorflow-datasets prepared {name}"))
    features = builder.info.features
    supervised = builder.info.supervised_keys or (None, None)
    text = _tfds_feature(name, features, text_feature, _is_text_feature, "text",
                         supervised[0])
    label = _tfds_feature(name, features, label_feature, _is_label_feature, "ClassLabel",
                          supervised[1] if len(supervised) > 1 else None)
    is_class_label = isinstance(features[label], tfds.features.ClassLabel)
    data = {}
    for ours, theirs in _tfds_splits(name, list(builder.info.splits)).items():
        split = _tfds_split(tfds, builder, theirs, text, label, f"tfds:{name}/{theirs}")
        # TFDS labels the rows of an unlabelled split (GLUE's test sets) -1.
        unlabelled = int((split.labels < 0).sum()) if is_class_label else 0
        if 0 < unlabelled < len(split):
            raise UsageError(f"{split.source} has {unlabelled} unlabelled rows (label -1) "
                             "among labelled ones")
        if not unlabelled:
            data[ours] = split
    return data, (list(features[label].names) if is_class_label else None)


def _is_text_feature(feature) -> bool:
    import tensorflow_datasets as tfds

    if isinstance(feature, tfds.features.ClassLabel):
        return False
    return (isinstance(feature, tfds.features.Tensor) and feature.shape == ()
            and feature.np_dtype == np.object_)


def _is_label_feature(feature) -> bool:
    import tensorflow_datasets as tfds

    return isinstance(feature, tfds.features.ClassLabel)


def _tfds_feature(name: str, features, asked: str | None, kind: Callable, what: str,
                  supervised: str | None) -> str:
    """The feature asked for, else the only one of its kind, else the
    dataset's supervised one of that kind."""
    listing = ", ".join(f"{k} ({type(f).__name__})" for k, f in sorted(features.items()))
    if asked is not None:
        if asked not in features:
            raise UsageError(f"{name} has no feature {asked!r} (features: {listing})")
        return asked
    found = sorted(key for key, feature in features.items() if kind(feature))
    if len(found) == 1:
        return found[0]
    if supervised in found:
        return supervised
    role = "text" if what == "text" else "label"
    if not found:
        raise UsageError(f"{name} has no {what} feature; name its {role} feature "
                         f"(features: {listing})")
    raise UsageError(f"{name} has several {what} features ({', '.join(found)}); name its "
                     f"{role} feature")


def _tfds_splits(name: str, available: list[str]) -> dict[str, str]:
    """Our split names -> the dataset's."""
    ours = {}
    for split, candidates in (("train", ("train",)), ("validation", ("validation", "dev")),
                              ("test", ("test",))):
        found = [c for c in candidates if c in available]
        if found:
            ours[split] = found[0]
    if not ours:
        raise UsageError(f"{name} has no train, validation or test split (splits: "
                         f"{', '.join(available)})")
    return ours


def _tfds_split(tfds, builder, split: str, text: str, label: str,
                source: str) -> LabelledTexts:
    texts, labels = [], []
    for batch in tfds.as_numpy(builder.as_dataset(split=split, batch_size=4096)):
        texts.extend(t.decode("utf-8") if isinstance(t, bytes) else str(t)
                     for t in batch[text])
        values = batch[label]
        if values.dtype == object:  # a string label feature
            labels.extend(v.decode("utf-8") if isinstance(v, bytes) else v for v in values)
        else:
            labels.extend(values.tolist())
    array = (_object_array(labels) if labels and isinstance(labels[0], str)
             else np.asarray(labels, dtype=np.int64))
    return LabelledTexts(_object_array(texts), array, source)
