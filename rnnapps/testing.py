"""Tiny datasets in the real on-disk formats, for tests, notebooks and benchmarks.

Each writer produces a file the real loaders read exactly as they read the
published data (an ``aclImdb_v1.tar.gz``, a UTF-8 text, a ``Date,Temp``
CSV), so code exercised on these runs the same path as on the real thing.
No TensorFlow import.
"""

from __future__ import annotations

import csv
import io
import tarfile
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

Review = Callable[[str, str, int, np.random.Generator], str]
"""``(split, label, index, rng) -> review text``: what ``write_imdb_archive`` writes."""

_GOOD = ["wonderful", "brilliant", "moving", "superb", "delightful", "excellent", "beautiful",
         "touching", "funny", "gripping"]
_BAD = ["terrible", "boring", "awful", "dreadful", "dull", "stupid", "painful", "lazy",
        "pointless", "tedious"]
_NOUNS = ["film", "story", "acting", "plot", "script", "cast", "ending", "score", "direction"]
_FILLER = ["I watched it last night.", "My friends saw it too.", "It runs two hours.",
           "The cinema was full.", "It is based on a novel.", "I had heard a lot about it."]


# ------------------------------------------------------------------- IMDB
def write_imdb_archive(path: str | Path, review: Review, per_label: int = 24, *,
                       splits: Sequence[str] = ("train", "test"),
                       labels: Sequence[str] = ("pos", "neg"), unlabelled: int = 0,
                       seed: int = 0) -> Path:
    """Writes an ``aclImdb_v1.tar.gz`` in the published layout.

    Args:
        path: The archive to write.
        review: Makes each review's text.
        per_label: Reviews per label in each split.
        splits: The split folders.
        labels: The label folders of each split (``pos``/``neg``).
        unlabelled: Reviews in ``train/unsup`` (the real archive has 50,000).
        seed: Seed of the ``rng`` handed to ``review``.

    Returns:
        ``path``.
    """
    rng = np.random.default_rng(seed)
    with tarfile.open(path, "w:gz") as tar:
        def add(name: str, text: str) -> None:
            data = text.encode("utf-8")
            info = tarfile.TarInfo(f"aclImdb/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        add("README", "A tiny stand-in for the Large Movie Review Dataset (rnnapps).\n")
        for split in splits:
            add(f"{split}/urls_pos.txt", "http://example.invalid\n")
            for label in labels:
                for i in range(per_label):
                    stars = int(rng.integers(7, 11) if label == "pos" else rng.integers(1, 5))
                    add(f"{split}/{label}/{i}_{stars}.txt", review(split, label, i, rng))
        for i in range(unlabelled):
            add(f"train/unsup/{i}_0.txt", "an unlabelled review")
    return Path(path)


def leaning_review(split: str, label: str, i: int, rng: np.random.Generator) -> str:
    """Neutral sentences mixed with adjectives that lean to the label (and
    sometimes one of the other side): learnable, but not perfectly."""
    own, other = (_GOOD, _BAD) if label == "pos" else (_BAD, _GOOD)
    words = [rng.choice(other) if rng.random() < 0.2 else rng.choice(own)
             for _ in range(rng.integers(1, 4))]
    parts = [f"The {rng.choice(_NOUNS)} was {w}." for w in words]
    parts += list(rng.choice(_FILLER, size=rng.integers(1, 3), replace=False))
    rng.shuffle(parts)
    return " <br /><br />".join(parts)


def write_tiny_imdb(path: str | Path, per_label: int = 200, seed: int = 0) -> Path:
    """A small ``aclImdb_v1.tar.gz`` of ``leaning_review`` texts."""
    return write_imdb_archive(path, leaning_review, per_label, seed=seed)


# ------------------------------------------------------------------- text
_SONNETS = """\
Shall I compare thee to a summer's day?
Thou art more lovely and more temperate:
Rough winds do shake the darling buds of May,
And summer's lease hath all too short a date;
Sometime too hot the eye of heaven shines,
And often is his gold complexion dimm'd;
And every fair from fair sometime declines,
By chance or nature's changing course untrimm'd;
But thy eternal summer shall not fade,
Nor lose possession of that fair thou ow'st;
Nor shall Death brag thou wander'st in his shade,
When in eternal lines to time thou grow'st:
So long as men can breathe or eyes can see,
So long lives this, and this gives life to thee.

When, in disgrace with fortune and men's eyes,
I all alone beweep my outcast state,
And trouble deaf heaven with my bootless cries,
And look upon myself and curse my fate,
Wishing me like to one more rich in hope,
Featured like him, like him with friends possess'd,
Desiring this man's art and that man's scope,
With what I most enjoy contented least;
Yet in these thoughts myself almost despising,
Haply I think on thee, and then my state,
Like to the lark at break of day arising
From sullen earth, sings hymns at heaven's gate;
For thy sweet love remember'd such wealth brings
That then I scorn to change my state with kings.
"""


def write_tiny_corpus(path: str | Path, repeat: int = 8) -> Path:
    """Writes two of Shakespeare's sonnets, ``repeat`` times, as a UTF-8 text file."""
    Path(path).write_text(_SONNETS * repeat, encoding="utf-8")
    return Path(path)


# ------------------------------------------------------------ time series
def write_tiny_temperatures(path: str | Path, years: int = 3, seed: int = 0) -> Path:
    """Writes a daily ``Date,Temp`` CSV like ``daily-min-temperatures.csv``:
    a yearly cycle, weather-like autocorrelated noise and a few empty cells."""
    rng = np.random.default_rng(seed)
    days = np.arange(np.datetime64("1981-01-01"), np.datetime64(f"{1981 + years}-01-01"))
    t = np.arange(len(days))
    noise = np.zeros(len(days))
    for i in range(1, len(days)):
        noise[i] = 0.7 * noise[i - 1] + rng.normal(0, 1.5)
    temp = 11 + 4 * np.cos(2 * np.pi * (t - 15) / 365.25) + noise
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["Date", "Temp"])
        for i, (day, value) in enumerate(zip(days, temp)):
            writer.writerow([str(day), "" if i % 97 == 50 else f"{value:.1f}"])
    return Path(path)


STORES = {"north": (40.0, 8.0, 0), "south": (4_000.0, 900.0, 0), "harbour": (0.5, 0.1, 60)}
"""Store -> (mean level, weekly swing, first day): ``write_store_sales``'s series,
four orders of magnitude apart."""


def write_store_sales(path: str | Path, days: int = 400, seed: int = 0) -> Path:
    """Writes daily sales of several stores in long format, ``date,store,sales,promo``:
    one row per store and day, sorted by date, like a shop's export.

    Each store has its own level and weekly cycle (``STORES``), AR(1) noise
    and promotion days that lift sales; ``harbour`` opens later than the
    others, and ``south`` has no row for its day 100 and an empty cell on day 200.
    """
    rng = np.random.default_rng(seed)
    start = np.datetime64("2023-01-02")
    rows = []
    for store, (level, swing, first) in STORES.items():
        noise, t = 0.0, np.arange(first, days)
        for day in t:
            noise = 0.6 * noise + rng.normal(0, 0.15)
            promo = int(rng.random() < 0.1)
            value = level + swing * (np.sin(2 * np.pi * day / 7) + noise + 0.8 * promo)
            if store == "south" and day == 100:
                continue
            cell = "" if store == "south" and day == 200 else f"{value:.3f}"
            rows.append((start + day, store, cell, promo))
    rows.sort(key=lambda row: row[0])
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["date", "store", "sales", "promo"])
        writer.writerows([str(day), store, cell, promo] for day, store, cell, promo in rows)
    return Path(path)


# -------------------------------------------------------- labelled texts
TICKET_TEAMS = {
    "billing": ["invoice", "refund", "charged", "payment", "receipt", "price"],
    "hardware": ["printer", "screen", "keyboard", "battery", "cable", "laptop"],
    "network": ["wifi", "vpn", "router", "connection", "dns", "firewall"],
}
"""Team -> the words its support tickets use (``write_tickets``)."""
_TICKET_FILLER = ["please help", "since this morning", "again today", "urgent",
                  "thanks in advance", "for the whole office", "after the update"]


def ticket(team: str, i: int, rng: np.random.Generator) -> str:
    """A support ticket for ``team``: two of its words among shared filler."""
    words = TICKET_TEAMS[team]
    return (f"my {words[i % len(words)]} {rng.choice(_TICKET_FILLER)}, the "
            f"{words[(i + 2) % len(words)]} is not working {rng.choice(_TICKET_FILLER)}")


def write_tickets(path: str | Path, rows: int = 120, seed: int = 0,
                  teams: Sequence[str] = tuple(TICKET_TEAMS), *,
                  header: Sequence[str] = ("id", "body", "team")) -> Path:
    """Writes a CSV of support tickets, ``id,body,team`` by default: texts
    quoted by the csv module where they need it, one row per ticket, the
    teams in turn (so every team has ``rows / len(teams)`` tickets)."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        if header:
            writer.writerow(header)
        for i in range(rows):
            team = teams[i % len(teams)]
            writer.writerow([i, ticket(team, i // len(teams), rng), team])
    return Path(path)


def tiny_configs(folder: str | Path) -> dict:
    """A config per task that trains in seconds on data written into ``folder``
    (the sentiment ``sample``, ``write_tickets``, ``write_tiny_corpus`` and a
    synthetic signal with an 80 % interval): for tests and benchmarks of
    what happens to an export, not of what it learnt.

    Returns:
        Task name -> its config.
    """
    from rnnapps.tasks.classify.config import ClassifyConfig
    from rnnapps.tasks.regression.config import RegressionConfig
    from rnnapps.tasks.sentiment.config import SentimentConfig
    from rnnapps.tasks.textgen.config import TextgenConfig

    folder = Path(folder)
    corpus = write_tiny_corpus(folder / "corpus.txt")
    tickets = write_tickets(folder / "tickets.csv")
    return {
        "sentiment": SentimentConfig().replace(data="sample", epochs=1, max_tokens=500,
                                               seq_length=40, units=8, embedding_dim=8,
                                               bidirectional=True),
        "classify": ClassifyConfig().replace(data=str(tickets), text_column="body",
                                             label_column="team", epochs=1, units=8,
                                             embedding_dim=8),
        "textgen": TextgenConfig().replace(corpus=str(corpus), epochs=1, seq_length=20,
                                           units=16, embedding_dim=8, cell="lstm"),
        "regression": RegressionConfig().replace(signal_length=300, window=12, epochs=1,
                                                 cell="gru", units=8, quantiles="0.1,0.5,0.9"),
    }
