"""Cheap copies of aggregates whose state only grows by appending or by replacing values.

eventsourcing hands each command its own copy of a cached aggregate (``deepcopy``), so a
refused or failed command leaves the cache untouched. A ticket's messages and timeline are
lists of dictionaries that no event changes once appended, so copying every one of them,
recursively, is wasted work that grows with the conversation (it was 28% of a command's CPU
time). The aggregates here follow one rule instead: **an event appends to a list or sets a
key or an attribute to a new value; it never changes a list element or a nested value in
place.** Then a copy needs new containers one level deep, sharing what they hold.
``tests/unit/test_copies.py`` checks the rule on random command sequences.
"""

from __future__ import annotations

from typing import Any


class CheapCopy:
    """``copy.deepcopy`` copies the instance's lists, dicts and sets one level deep."""

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        copied = object.__new__(type(self))
        state = copied.__dict__
        for name, value in self.__dict__.items():
            if isinstance(value, list | dict | set):
                state[name] = value.copy()
            else:
                state[name] = value
        memo[id(self)] = copied
        return copied
