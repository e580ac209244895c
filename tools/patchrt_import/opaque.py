"""Restricted unpickling: inert stand-ins for the classes a pickle names (never imported)."""

from __future__ import annotations


class Opaque:
    """Stand-in for a class named in a pickle that is not needed (never imported)."""

    _qualname = "?"

    def __init__(self, *args, **kwargs):
        self._args = args

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2:
            state, slots = state
            if isinstance(slots, dict):
                self.__dict__.update(slots)
        if isinstance(state, dict):
            self.__dict__.update(state)
        else:
            self._state = state

    def __repr__(self):
        return f"<{self._qualname}>"


def opaque_class(module: str, name: str):
    return type(name, (Opaque,), {"_qualname": f"{module}.{name}"})
