"""The one error a reader raises for a source that cannot be imported."""

from __future__ import annotations


class InputError(Exception):
    """The source file cannot be imported; the message is shown as is."""


def fail(message: str):
    raise InputError(message)
