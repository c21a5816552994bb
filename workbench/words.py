"""Words every layer puts in sentences, with nothing beneath them."""

from __future__ import annotations


def join_words(words: list[str], last: str = "and") -> str:
    """'a', 'a and b', 'a, b and c' (`last`: the word before the last one, 'or' for alternatives)."""
    return ", ".join(words[:-1]) + (f" {last} " if len(words) > 1 else "") + words[-1] if words else ""
