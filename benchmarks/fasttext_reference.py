"""fastText (Joulin et al., 2016) on the classify benchmark's splits, as a reference.

    python benchmarks/fasttext_reference.py --data-dir ../shared/data
    python benchmarks/fasttext_reference.py --threads 1 --out fasttext.json

An optional extra, not a dependency: ``pip install rnnapps[fasttext]``. The sets are
read here with the standard library (csv, json), not with rnnapps, so that the
reference does not depend on the code it is compared with. Settings are the ones
the fastText paper uses for sentence classification: word bigrams, a learning rate
of 0.5 and 5 to 25 epochs; where a set has a dev split the number of epochs is picked
from ``EPOCH_GRID`` by dev accuracy, otherwise ``epoch`` is used as given.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

EPOCH_GRID = (5, 10, 25)
PREFIX = "__label__"
# The shared data: $RNNAPPS_DATA_DIR, else ../shared/data beside the checkout (as common.py).
DATA_DIR = Path(os.environ.get("RNNAPPS_DATA_DIR",
                               Path(__file__).resolve().parents[2] / "shared" / "data"))


def available() -> bool:
    """Whether fastText's Python bindings can be imported."""
    try:
        import fasttext  # noqa: F401
    except ImportError:
        return False
    return True


def _version() -> str:
    from importlib import metadata

    for dist in ("fasttext", "fasttext-wheel", "fasttext-numpy2"):
        try:
            return f"{dist} {metadata.version(dist)}"
        except metadata.PackageNotFoundError:
            continue
    import fasttext

    return getattr(fasttext, "__version__", "unknown")


def _clean(text: str) -> str:
    """One lower-cased line: every run of whitespace (newlines included) becomes
    one space, and a literal label prefix in a text cannot be read as a label."""
    return " ".join(str(text).lower().replace(PREFIX, " ").split())


def _label_token(label: str) -> str:
    # fastText splits on whitespace, so a label must be one token.
    return re.sub(r"\s+", "_", str(label).strip())


def _write(path: Path, texts: Sequence[str], labels: Sequence[str], tokens: dict) -> None:
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    with open(path, "w", encoding="utf-8") as f:
        for text, label in zip(texts, labels):
            f.write(f"{PREFIX}{tokens[str(label)]} {_clean(text)}\n")


def _accuracy(model, texts: Sequence[str], labels: Sequence[str], tokens: dict) -> float:
    """Fraction of texts whose top predicted label is the true one.

    ``model.predict`` is given a list on purpose: fasttext 0.9.2/0.9.3 ends its
    single-string path with ``np.array(probs, copy=False)``, which NumPy 2 refuses
    (ValueError), while the list path returns ``f.multilinePredict``'s result as is.
    """
    if not texts:
        return float("nan")
    predicted, _ = model.predict([_clean(t) for t in texts], k=1)
    right = sum(1 for got, label in zip(predicted, labels)
                if got and tokens[str(label)] is not None
                and got[0] == PREFIX + tokens[str(label)])
    return right / len(texts)


def fasttext_accuracy(train: tuple[Sequence[str], Sequence[str]],
                      test: tuple[Sequence[str], Sequence[str]], *,
                      validation: tuple | None = None, epoch: int = 25, lr: float = 0.5,
                      word_ngrams: int = 2, dim: int = 100, seed: int = 0, threads: int = 2,
                      epoch_grid: Sequence[int] = EPOCH_GRID) -> dict:
    """Trains fastText on ``train`` (texts, string labels) and scores it on ``test``.

    With ``validation`` the number of epochs is the one of ``epoch_grid`` with the
    best validation accuracy (ties go to fewer epochs; each candidate is trained on
    ``train`` alone and the chosen model is the one scored on ``test``), and ``epoch``
    is not used. ``threads`` > 1 trains Hogwild-style, so repeated runs can differ
    a little even with the same ``seed``; ``threads=1`` repeats exactly.

    Returns ``{"accuracy", "seconds", "params", "fasttext", ...}``: ``seconds`` is the
    whole call (every candidate trained and scored), ``train_seconds`` the chosen
    model's training alone.
    """
    import fasttext

    start = time.perf_counter()
    train_texts, train_labels = train
    test_texts, test_labels = test
    names = sorted({str(y) for y in train_labels})
    tokens = {name: _label_token(name) for name in names}
    if len(set(tokens.values())) != len(tokens):
        raise ValueError(f"labels collide once whitespace is replaced: {names}")
    unseen = {str(y) for y in test_labels} - set(names)
    if validation is not None:
        unseen |= {str(y) for y in validation[1]} - set(names)
    for name in unseen:  # never predicted (not in train), so always wrong
        tokens[name] = None

    params = {"lr": lr, "wordNgrams": word_ngrams, "dim": dim, "seed": seed,
              "thread": threads, "loss": "softmax", "minCount": 1}

    with tempfile.TemporaryDirectory(prefix="fasttext_ref_") as work:
        path = Path(work) / "train.txt"
        _write(path, train_texts, train_labels, tokens)

        def fit(n_epochs: int):
            t0 = time.perf_counter()
            model = fasttext.train_supervised(str(path), epoch=n_epochs, verbose=0, **params)
            return model, time.perf_counter() - t0

        grid = []
        if validation is None:
            chosen = epoch
            model, train_seconds = fit(epoch)
            selection = f"epoch={epoch} as given (no validation split)"
        else:
            best = None
            for n in sorted(epoch_grid):
                candidate, secs = fit(n)
                acc = _accuracy(candidate, validation[0], validation[1], tokens)
                grid.append({"epoch": n, "validation_accuracy": round(acc, 4),
                             "train_seconds": round(secs, 2)})
                if best is None or acc > best[0]:
                    best = (acc, n, candidate, secs)
            _, chosen, model, train_seconds = best
            selection = (f"epoch={chosen} picked from {sorted(epoch_grid)} by validation "
                         "accuracy (ties to fewer epochs), trained on train only")
        accuracy = _accuracy(model, test_texts, test_labels, tokens)

    result = {"accuracy": accuracy, "seconds": round(time.perf_counter() - start, 2),
              "train_seconds": round(train_seconds, 2),
              "params": {**params, "epoch": chosen, "selection": selection},
              "fasttext": _version(),
              "sizes": {"train": len(train_texts), "test": len(test_texts),
                        "validation": None if validation is None else len(validation[0]),
                        "classes": len(names)}}
    if grid:
        result["grid"] = grid
    return result


# --- the three shared sets, read with the standard library ---------------------------

def read_trec(path: Path) -> tuple[list[str], list[str]]:
    """CSV, header ``text,coarse,fine``; the label is the coarse class."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r["coarse"] for r in rows]


def read_sst2(path: Path) -> tuple[list[str], list[str]]:
    """TSV, header ``sentence<TAB>label``; no quoting, since texts hold bare quotes."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        i, j = header.index("sentence"), header.index("label")
        rows = [r for r in reader if r]
    return [r[i] for r in rows], [r[j] for r in rows]


def read_sst5(path: Path) -> tuple[list[str], list[str]]:
    """JSON Lines, one ``{"text", "label"}`` a line."""
    texts, labels = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                texts.append(row["text"])
                labels.append(str(row["label"]))
    return texts, labels


SETS = {  # name: (folder, reader, extension, has a dev split)
    "trec": ("trec", read_trec, "csv", False),
    "sst2": ("sst2", read_sst2, "tsv", True),
    "sst5": ("sst5", read_sst5, "jsonl", True),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR,
                        help="folder holding text_classification/ (or that folder itself)")
    parser.add_argument("--sets", nargs="+", choices=sorted(SETS), default=list(SETS))
    parser.add_argument("--epoch", type=int, default=25, help="used where there is no dev split")
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--word-ngrams", type=int, default=2)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, help="also write the results here as JSON")
    args = parser.parse_args(argv)

    if not available():
        print("fasttext is not installed: pip install 'rnnapps[fasttext]'", file=sys.stderr)
        return 2
    root = args.data_dir
    if (root / "text_classification").is_dir():
        root = root / "text_classification"

    results = {}
    for name in args.sets:
        folder, read, ext, has_dev = SETS[name]
        base = root / folder
        train = read(base / f"train.{ext}")
        test = read(base / f"test.{ext}")
        validation = read(base / f"dev.{ext}") if has_dev else None
        r = fasttext_accuracy(train, test, validation=validation, epoch=args.epoch,
                              lr=args.lr, word_ngrams=args.word_ngrams, dim=args.dim,
                              seed=args.seed, threads=args.threads)
        results[name] = r
        print(f"{name}: accuracy {r['accuracy']:.4f} ({r['sizes']['test']} test texts), "
              f"{r['seconds']:.1f} s, epoch {r['params']['epoch']}, "
              f"lr {r['params']['lr']}, wordNgrams {r['params']['wordNgrams']}, "
              f"dim {r['params']['dim']}, threads {r['params']['thread']}, {r['fasttext']}",
              flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"argv": sys.argv[1:] if argv is None else argv,
                                        "results": results}, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
