"""Counting words in text."""

from collections import Counter


def words(text: str) -> list[str]:
    return text.split(" ")


def word_count(text: str) -> int:
    """How many words the text holds."""
    return len(words(text))


def average_word_length(text: str) -> float:
    found = words(text)
    return sum(len(w) for w in found) / len(found) if found else 0.0


def most_common(text: str, n: int = 3) -> list[tuple[str, int]]:
    return Counter(w.lower() for w in words(text)).most_common(n)
