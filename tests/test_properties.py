"""Property-based tests (hypothesis) of the pure data code: splitting,
windowing, normalisation and the text lookups."""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rnnapps.data.series import Encoder, Series, split_bounds, targets, window_starts, windows
from rnnapps.data.text import split_text
from rnnapps.errors import UsageError

fractions = st.floats(0.0, 0.45, allow_nan=False)


@given(rows=st.integers(1, 5000), val=fractions, test=fractions)
def test_split_bounds_cut_the_rows_in_order(rows, val, test):
    train_end, val_end = split_bounds(rows, val, test)
    assert 0 <= train_end <= val_end <= rows
    assert abs((rows - val_end) - rows * test) <= 0.5 + 1e-9


@given(rows=st.integers(2, 3000), window=st.integers(1, 60), horizon=st.integers(1, 10),
       val=fractions, test=st.floats(0.05, 0.45))
def test_windows_never_cross_their_split_or_run_off_the_series(rows, window, horizon, val, test):
    try:
        starts = window_starts(rows, window, horizon, val, test)
    except UsageError:
        return  # too short for this cut: refused, never a crash
    train_end, val_end = split_bounds(rows, val, test)
    for split, lo, hi in (("train", 0, train_end), ("val", train_end, val_end),
                          ("test", val_end, rows)):
        t = starts[split]
        assert np.all(np.diff(t) == 1)  # every window, in time order
        if t.size:
            assert t.min() >= max(lo, window)  # the inputs exist
            assert t.max() + horizon <= hi  # the targets stay inside the split


@given(data=st.data(), rows=st.integers(5, 200), window=st.integers(1, 20),
       horizon=st.integers(1, 5))
def test_windows_and_targets_are_the_rows_before_and_after_t(data, rows, window, horizon):
    assume(rows >= window + horizon)
    series = np.arange(rows, dtype=np.float64)
    starts = np.array(data.draw(st.lists(st.integers(window, rows - horizon), min_size=1,
                                         max_size=10)))
    x, y = windows(series, starts, window), targets(series, starts, horizon)
    for t, xi, yi in zip(starts, x, y):
        np.testing.assert_array_equal(xi, np.arange(t - window, t))
        np.testing.assert_array_equal(yi, np.arange(t, t + horizon))


def _series(y):
    return Series(target="y", numeric={"y": y}, categorical={}, observed=np.isfinite(y))


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(st.floats(-1e4, 1e4, allow_nan=False), min_size=3, max_size=300),
       train_rows=st.integers(2, 300))
def test_normalisation_round_trips_and_uses_training_rows_only(values, train_rows):
    y = np.array(values)
    train_rows = min(train_rows, len(y))
    encoder = Encoder.fit(_series(y), train_rows)
    assert encoder.mean[0] == pytest.approx(y[:train_rows].mean())
    np.testing.assert_allclose(encoder.unscale_target(encoder.scale_target(y)), y,
                               rtol=1e-4, atol=1e-3 * (1 + np.abs(y).max()))
    encoder_more = Encoder.fit(_series(np.append(y, 1e9)), train_rows)
    assert encoder_more == encoder  # a later row never changes the statistics


@given(text=st.text(min_size=1, max_size=400), val=st.floats(0.01, 0.3),
       test=st.floats(0.01, 0.3))
def test_split_text_keeps_every_character_in_reading_order(text, val, test):
    train, validation, test_part = split_text(text, val, test)
    assert train + validation + test_part == text
    assert len(train) == int(len(text) * round(1 - val - test, 12))


# NUL is left out (read_corpus rejects text holding it as binary), and so are lone
# surrogates, which no UTF-8 file can hold.
text_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")


@settings(max_examples=25, deadline=None)
@given(train=st.text(text_chars, min_size=1, max_size=60), other=st.text(text_chars, max_size=60))
def test_character_lookup_round_trips_and_maps_unseen_characters_to_oov(train, other):
    from rnnapps.tasks.textgen import encode, make_lookups, make_vocabulary

    vocabulary = make_vocabulary(train)
    chars_to_ids, ids_to_chars = make_lookups(vocabulary)
    ids = encode(chars_to_ids, train)
    assert len(ids) == len(train) and ids.min() >= 1  # 0 is reserved for OOV
    decoded = ids_to_chars(ids).numpy()
    assert "".join(c.decode("utf-8") for c in decoded) == train
    unseen = encode(chars_to_ids, other)
    assert all((i == 0) == (c not in vocabulary) for c, i in zip(other, unseen))


@settings(max_examples=20, deadline=None)
@given(texts=st.lists(st.text(max_size=80), min_size=1, max_size=8))
def test_review_vectorisation_has_a_fixed_length_and_valid_ids(texts):
    from rnnapps.tasks.sentiment import SentimentConfig, make_vectorizer

    config = SentimentConfig().replace(max_tokens=20, seq_length=7)
    vectorizer = make_vectorizer(config, vocabulary=["", "[UNK]", "good", "bad", "film"])
    ids = vectorizer(np.array(texts, dtype=object).astype(str)).numpy()
    assert ids.shape == (len(texts), 7)
    assert ids.min() >= 0 and ids.max() < 5
    for row in ids:  # padding only at the end
        nonzero = np.flatnonzero(row)
        assert nonzero.size == 0 or np.all(row[: nonzero.max() + 1] != 0)
