"""Small text statistics helpers."""

from .core import average_word_length, most_common, word_count

__all__ = ["average_word_length", "most_common", "word_count"]
