"""New keys for generated rows: unique, shaped like the training keys and never one of them (a
training key in a synthetic row points back at a real person); the training keys kept only as a
Bloom filter that survives config.json."""

from __future__ import annotations

import re
import string

import numpy as np
import pytest

from vaekit.data.schema.keys import KeyFilter, duplicated, key_patterns, new_keys


def _new(keys: list[str], n: int, seed: bytes = b"rows", numeric: bool = False) -> list[str]:
    return new_keys(key_patterns(keys), n, KeyFilter.of(keys), seed, numeric)


def test_new_keys_are_unique_new_and_shaped_like_the_training_keys():
    training = [f"ID-{i:04d}" for i in range(1000)]
    keys = _new(training, 500)
    assert len(keys) == len(set(keys)) == 500
    assert not set(keys) & set(training)
    assert all(re.fullmatch(r"ID-\d{4}", k) for k in keys), keys[:5]


def test_letters_stay_letters_and_digits_stay_digits_position_by_position():
    rng = np.random.default_rng(0)
    upper, digits = np.array(list(string.ascii_uppercase)), np.array(list(string.digits))
    training = sorted(
        {
            "".join([rng.choice(upper), rng.choice(upper), rng.choice(digits), rng.choice(digits)])
            + "-"
            + "".join(rng.choice(digits, 3))
            for _ in range(300)
        }
    )
    assert key_patterns(training) == ["AA99\\-999"]
    keys = _new(training, 1000)
    assert len(set(keys)) == 1000 and not set(keys) & set(training)
    assert all(re.fullmatch(r"[A-Z]{2}\d{2}-\d{3}", k) for k in keys), keys[:5]


def test_hexadecimal_and_lower_case_keys_keep_their_alphabet():
    training = [f"{i * 7919:08x}" for i in range(1, 400)]
    keys = _new(training, 300)
    assert len(set(keys)) == 300 and not set(keys) & set(training)
    assert all(re.fullmatch(r"[0-9a-f]{8}", k) for k in keys), keys[:5]


def test_keys_of_several_lengths_take_the_most_common_length():
    training = [f"c{i}" for i in range(1, 200)]  # c1..c9, c10..c99, c100..c199
    patterns = key_patterns(training)
    assert patterns == ["\\c\\199", "\\c99", "\\c9"]  # most keys first: c100..c199
    keys = _new(training, 50)
    assert all(re.fullmatch(r"c\d{3}", k) for k in keys) and not set(keys) & set(training)


@pytest.mark.parametrize("numeric", [True, False])
def test_a_nearly_exhausted_pattern_is_widened_and_keys_stay_unique(numeric):
    training = [str(i) for i in range(10, 100)]  # every two-digit key is taken
    keys = _new(training, 10_000, numeric=numeric)
    assert len(keys) == len(set(keys)) == 10_000
    assert not set(keys) & set(training)
    assert all(k.isdigit() for k in keys)
    if numeric:
        assert not any(k.startswith("0") for k in keys)
        assert len({int(k) for k in keys}) == 10_000  # still distinct as numbers


def test_a_prefixed_pattern_nearly_exhausted_still_gives_unique_new_keys():
    training = [f"K{i}" for i in range(10, 100)]
    keys = _new(training, 10_000)
    assert len(set(keys)) == 10_000 and not set(keys) & set(training)


def test_numeric_keys_never_start_with_zero():
    training = [str(i) for i in range(1000, 10_000, 7)]
    for seed in (b"a", b"b", b"c"):
        keys = _new(training, 2000, seed, numeric=True)
        assert all(k[0] != "0" and k.isdigit() and len(k) == 4 for k in keys)
        assert len(set(keys)) == 2000 and not set(keys) & set(training)
    # text keys of digits may start with 0: "0042" is a key, not a number
    text_keys = _new([f"{i:04d}" for i in range(1000, 9000)], 3000, b"a")
    assert any(k[0] == "0" for k in text_keys)


def test_the_same_seed_bytes_give_the_same_keys_and_others_differ():
    training = [f"user_{i:05d}" for i in range(0, 5000, 3)]
    first = _new(training, 400, b"\x00\x01 the generated rows")
    assert first == _new(training, 400, b"\x00\x01 the generated rows")
    assert first != _new(training, 400, b"\x00\x01 other generated rows")


def test_the_filter_holds_every_key_and_few_others():
    keys = [f"customer-{i:06d}" for i in range(10_000)]
    held = KeyFilter.of(keys)
    assert all(k in held for k in keys)  # no false negatives
    others = [f"customer-{i:06d}" for i in range(10_000, 60_000)]
    rate = sum(k in held for k in others) / len(others)
    assert rate < 0.03, rate


def test_the_filter_round_trips_through_text():
    keys = [f"k{i}" for i in range(10_000)]
    held = KeyFilter.of(keys)
    text = held.to_text()
    back = KeyFilter.from_text(text)
    assert back.count == held.count == 10_000
    assert np.array_equal(back.bits, held.bits)
    assert back.to_text() == text
    assert all(k in back for k in keys)
    others = [f"k{i}" for i in range(10_000, 20_000)]
    assert [k in back for k in others] == [k in held for k in others]
    small = KeyFilter.of(["a", "b", "c"])  # at least 64 bits, not a multiple of 8 beyond
    again = KeyFilter.from_text(small.to_text())
    assert all(k in again for k in "abc") and len(again.bits) == len(small.bits) == 64


@pytest.mark.parametrize("text", ["", "3:64", "3:1000:AAAA", "3:0:AAAA", "x:64:AAAAAAAAAAA="])
def test_a_damaged_filter_is_refused(text):
    with pytest.raises(ValueError):
        KeyFilter.from_text(text)


def test_new_keys_avoid_every_key_in_the_filter_read_back():
    training = [f"{i:03d}" for i in range(0, 1000, 2)]  # the even three-digit keys
    taken = KeyFilter.from_text(KeyFilter.of(training).to_text())
    keys = new_keys(key_patterns(training), 300, taken, b"seed", False)
    assert len(set(keys)) == 300 and not set(keys) & set(training)


def test_duplicated_names_the_first_repeated_row():
    assert duplicated(["a", "b", "c"]) is None
    assert duplicated(["a", "b", "a", "b"]) == 2
    assert duplicated(["x", None, None, "y"]) is None  # missing keys are not repeats
    assert duplicated(["x", None, "y", "x"]) == 3
    assert duplicated([]) is None
