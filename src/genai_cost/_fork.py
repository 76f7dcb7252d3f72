"""Locks that a forked child gets back unlocked.

``fork()`` copies a lock in whatever state it is in: a lock another thread holds at that moment
stays locked forever in the child, where that thread does not exist, and the child's first use
of it hangs. Every lock genai-cost owns is made by :func:`fork_safe_lock`, and the child
replaces each with a new one right after the fork (as the SDK's batch processors do).
"""

from __future__ import annotations

import os
import threading
import weakref

__all__ = ["fork_safe_lock"]

_owners: weakref.WeakKeyDictionary[object, set[str]] = weakref.WeakKeyDictionary()
"""Objects (instances or modules) holding a fork-safe lock -> the attributes that hold them."""


def fork_safe_lock(owner: object, attribute: str = "_lock") -> threading.Lock:
    """A new lock to be stored as ``owner.<attribute>``; a forked child finds a fresh one there."""
    _owners.setdefault(owner, set()).add(attribute)
    return threading.Lock()


def _renew_locks() -> None:
    # The child runs only the forking thread: nothing else touches these objects now.
    for owner, attributes in list(_owners.items()):
        for attribute in attributes:
            setattr(owner, attribute, threading.Lock())


if hasattr(os, "register_at_fork"):  # not on Windows, which cannot fork
    os.register_at_fork(after_in_child=_renew_locks)
