"""Locks (and conditions) that a forked child gets back unlocked.

``fork()`` copies a lock in whatever state it is in: a lock another thread holds at that moment
stays locked forever in the child, where that thread does not exist, and the child's first use
of it hangs. Every lock genai-cost owns is made by :func:`fork_safe_lock` (a condition, by
:func:`fork_safe_condition`), and the child replaces each with a new one right after the fork
(as the SDK's batch processors do).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable

__all__ = ["fork_safe_condition", "fork_safe_lock"]

_owners: weakref.WeakKeyDictionary[object, dict[str, Callable[[], object]]] = weakref.WeakKeyDictionary()
"""Objects (instances or modules) holding a fork-safe lock -> the attributes that hold them, and
how to make a new one."""


def fork_safe_lock(owner: object, attribute: str = "_lock") -> threading.Lock:
    """A new lock to be stored as ``owner.<attribute>``; a forked child finds a fresh one there."""
    _owners.setdefault(owner, {})[attribute] = threading.Lock
    return threading.Lock()


def fork_safe_condition(owner: object, attribute: str) -> threading.Condition:
    """A new condition to be stored as ``owner.<attribute>``; a forked child finds a fresh one there."""
    _owners.setdefault(owner, {})[attribute] = _condition
    return _condition()


def _condition() -> threading.Condition:
    return threading.Condition(threading.Lock())


def _renew_locks() -> None:
    # The child runs only the forking thread: nothing else touches these objects now.
    for owner, attributes in list(_owners.items()):
        for attribute, make in attributes.items():
            setattr(owner, attribute, make())


if hasattr(os, "register_at_fork"):  # not on Windows, which cannot fork
    os.register_at_fork(after_in_child=_renew_locks)
