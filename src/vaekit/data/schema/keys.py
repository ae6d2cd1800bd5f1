"""Identifier columns (kind ``id``): a unique key per row that the model never sees, written into
generated rows as new keys shaped like the training ones and never equal to one of them (a
training key in a synthetic row would point back at a real person).

A key's shape is a pattern per key length: each position either a character every training key
of that length shares (a prefix such as ``ID-``) or a class of characters — digits, upper- or
lower-case letters, hexadecimal digits, letters and digits. Where the training keys leave too few
new keys for the rows asked for, shared positions are opened up from the right, then a position
is added, so any number of rows gets unique keys.
"""

from __future__ import annotations

import base64
import hashlib
import string

import numpy as np

CLASSES = {  # class mark in a pattern -> its characters (checked in this order: smallest first)
    "9": string.digits,
    "f": string.digits + "abcdef",
    "F": string.digits + "ABCDEF",
    "a": string.ascii_lowercase,
    "A": string.ascii_uppercase,
    "x": string.ascii_lowercase + string.digits,
    "X": string.ascii_uppercase + string.digits,
    "*": string.ascii_letters + string.digits,
}
ESCAPE = "\\"  # a pattern character after it is a literal, not a class


def key_patterns(keys: list[str]) -> list[str]:
    """One pattern per distinct key length, in order of how many keys have that length."""
    by_length: dict[int, list[str]] = {}
    for key in keys:
        by_length.setdefault(len(key), []).append(key)
    ordered = sorted(by_length.values(), key=lambda group: -len(group))
    return [_pattern(group) for group in ordered]


def _pattern(keys: list[str]) -> str:
    out = []
    for chars in zip(*keys, strict=True):
        seen = set(chars)
        if len(seen) == 1:
            out.append(ESCAPE + chars[0])
            continue
        mark = next((m for m, allowed in CLASSES.items() if seen <= set(allowed)), None)
        out.append(mark if mark is not None else ESCAPE + chars[0])
    return "".join(out)


def _slots(pattern: str) -> list[str]:
    """A pattern's positions: the characters each may hold."""
    slots, at = [], 0
    while at < len(pattern):
        if pattern[at] == ESCAPE:
            slots.append(pattern[at + 1])
            at += 2
        else:
            slots.append(CLASSES[pattern[at]])
            at += 1
    return slots


def _opened(slots: list[str], needed: int) -> list[str]:
    """The slots with shared positions opened up (right to left, a digit to any digit, a
    letter to its case) and then one added, until they hold ``needed`` keys."""
    slots = list(slots)
    for at in reversed(range(len(slots))):
        if _capacity(slots) >= needed:
            return slots
        if len(slots[at]) == 1:
            slots[at] = _class_of(slots[at])
    while _capacity(slots) < needed:
        slots.append(string.digits if not slots else _class_of(slots[-1][0]))
    return slots


def _class_of(char: str) -> str:
    for allowed in (string.digits, string.ascii_lowercase, string.ascii_uppercase):
        if char in allowed:
            return allowed
    return char


def _capacity(slots: list[str]) -> int:
    total = 1
    for allowed in slots:
        total *= len(allowed)
    return total


def new_keys(
    patterns: list[str], n: int, taken: KeyFilter, seed_bytes: bytes, numeric: bool
) -> list[str]:
    """``n`` distinct keys in the first pattern (widened as needed), none in ``taken``. The
    draw is seeded by ``seed_bytes`` (the generated rows), so the same rows get the same keys.
    ``numeric`` keys never start with 0 (a number would lose it)."""
    slots = _opened(_slots(patterns[0]) if patterns else [], 2 * (n + taken.count) + 16)
    if numeric and len(slots[0]) > 1:
        slots[0] = slots[0].replace("0", "")
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(seed_bytes).digest()[:8], "big"))
    chosen: list[str] = []
    seen: set[str] = set()
    while len(chosen) < n:
        batch = 2 * (n - len(chosen)) + 8
        picks = [rng.integers(0, len(allowed), batch) for allowed in slots]
        for row in range(batch):
            key = "".join(allowed[p[row]] for allowed, p in zip(slots, picks, strict=True))
            if key not in seen and key not in taken:
                seen.add(key)
                chosen.append(key)
                if len(chosen) == n:
                    break
    return chosen


class KeyFilter:
    """The training keys, kept as a Bloom filter: ``key in filter`` is True for every training
    key and for about 1 % of others (a new key is then drawn again), so a run folder can refuse
    every training key without holding the keys themselves. Recorded as ``"count:base64"``."""

    HASHES = 7
    BITS_PER_KEY = 10

    def __init__(self, count: int, bits: np.ndarray) -> None:
        self.count, self.bits = count, bits

    @classmethod
    def of(cls, keys: list[str]) -> KeyFilter:
        """The filter holding ``keys``."""
        size = max(64, cls.BITS_PER_KEY * len(keys))
        bits = np.zeros(size, dtype=bool)
        for key in keys:
            bits[cls._places(key, size)] = True
        return cls(len(keys), bits)

    @classmethod
    def _places(cls, key: str, size: int) -> list[int]:
        digest = hashlib.sha256(key.encode()).digest()
        return [int.from_bytes(digest[4 * i : 4 * i + 4], "big") % size for i in range(cls.HASHES)]

    def __contains__(self, key: str) -> bool:
        return bool(self.bits[self._places(key, len(self.bits))].all())

    def to_text(self) -> str:
        """``"count:size:base64 of the bits"``, for config.json."""
        packed = base64.b64encode(np.packbits(self.bits).tobytes()).decode()
        return f"{self.count}:{len(self.bits)}:{packed}"

    @classmethod
    def from_text(cls, text: str) -> KeyFilter:
        """The filter :meth:`to_text` wrote (ValueError when damaged)."""
        count, size, packed = text.split(":")
        bits = np.unpackbits(np.frombuffer(base64.b64decode(packed), dtype=np.uint8))
        if int(size) > len(bits) or int(size) < 1:
            raise ValueError("the key filter is damaged")
        return cls(int(count), bits[: int(size)].astype(bool))


def duplicated(keys: list[str | None]) -> int | None:
    """The row of the first key seen before (None: all distinct)."""
    seen: set[str] = set()
    for row, key in enumerate(keys):
        if key in seen:
            return row
        if key is not None:
            seen.add(key)
    return None
