"""Which of a user's idle keys ride on its password's finding, given what is already decided.

The scan proposes that a password finding carries its user's idle keys (one decision for the
fully inactive user); what the records hold can say otherwise, and this says how: a key that is
decided, or being decided, as a finding of its own stays one; a key that went idle after its
password's finding was kept is a finding of its own (the keep was not for it); a key its owner
turned back on lately is not idle yet, riding or not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import replace
from datetime import datetime

from bot.domain.clock import iso
from bot.domain.rule import Candidate
from bot.domain.workflow import State

# What a finding is about: a user's password (no key), or one of its keys (when it was made).
FindingKey = tuple[str, datetime | None]


def identity(candidate: Candidate) -> FindingKey:
    return candidate.user_name, candidate.key.created if candidate.key else None


def carried(
    candidates: Sequence[Candidate],
    alone: Callable[[str, datetime], Candidate | None],
    open_states: Mapping[FindingKey, str],
    kept_keys: Mapping[str, Sequence[str]],
    spared: AbstractSet[FindingKey],
) -> list[Candidate]:
    """The scan's candidates as they are recorded.

    `alone`: a riding key as a finding of its own; `open_states`: the state of each open
    finding; `kept_keys`: by user, the keys (their creation, ISO) a keep of its password's
    finding covered; `spared`: keys turned back on lately."""
    recorded = []
    for candidate in candidates:
        if candidate.key is not None:
            if identity(candidate) not in spared:
                recorded.append(candidate)
            continue
        name, riders, own = candidate.user_name, [], []
        password_kept = open_states.get((name, None)) == State.KEPT
        for key in candidate.idle_keys:
            this = (name, key.created)
            if this in spared:
                continue
            decided = open_states.get(this, State.OPEN) != State.OPEN
            idle_since_keep = password_kept and iso(key.created) not in kept_keys.get(name, ())
            if not (decided or idle_since_keep):
                riders.append(key)
            elif key.created is not None and (found := alone(name, key.created)) is not None:
                own.append(found)
        if len(riders) != len(candidate.idle_keys):
            candidate = replace(candidate, idle_keys=tuple(riders))
        recorded += [candidate, *own]
    return recorded
