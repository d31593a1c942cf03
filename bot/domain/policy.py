"""IAM policy documents, read and matched as AWS matches them. Pure.

A document becomes `Statement`s once; a statement says whether it applies to an action on a
resource for one principal (its policy variables expanded for that principal), and what its
condition needs. Conditions are not guessed: one whose keys are all known in the request
(`Context`) is evaluated; any other is kept, in words, as a requirement of the grant.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any

# Policy variables AWS expands in Resource for an IAM principal. Any other (a principal tag, the
# source IP...) is not known here: a pattern holding one matches nothing, as AWS matches nothing
# when a variable's key is absent from the request.
VARIABLE = re.compile(r"\$\{([^}]*)\}")
LITERAL_VARIABLES = {"*": "*", "?": "?", "$": "$"}
# Condition operators evaluated when their key is known; the rest are described.
STRING_EQUALS = {"stringequals", "arnequals"}
STRING_LIKE = {"stringlike", "arnlike"}


@dataclass(frozen=True)
class Context:
    """What a request is known to carry: the principal's policy variables (`aws:username`,
    `aws:userid`, `aws:principalaccount`) and request keys (`iam:passedtoservice`), lowercase."""

    values: Mapping[str, str]

    def expand(self, pattern: str) -> str | None:
        """`pattern` with its policy variables replaced, or None when one is not known here."""
        if "${" not in pattern:
            return pattern
        missing = False

        def value(match: re.Match[str]) -> str:
            nonlocal missing
            name = match.group(1)
            if name in LITERAL_VARIABLES:
                return LITERAL_VARIABLES[name]
            key, _, default = name.partition(", ")
            known = self.values.get(key.strip().lower())
            if known is None and default:
                return default.strip().strip("'")
            if known is None:
                missing = True
                return ""
            return known

        expanded = VARIABLE.sub(value, pattern)
        return None if missing else expanded


@dataclass(frozen=True, eq=False)
class Statement:
    """One statement of a policy, with where it comes from for the reasons shown to people:
    `source` ("inline policy x", "policy y", "AdministratorAccess"), `through` (" through group
    g"), and whether it is an AWS managed policy's (named alone: its name says what it is)."""

    allow: bool
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    condition: Mapping[str, Any] | None
    source: str
    through: str = ""
    managed_by_aws: bool = False
    _covers: dict[str, bool] = field(default_factory=dict, repr=False, compare=False)

    @property
    def origin(self) -> str:
        return f"{self.source}{self.through}"

    def grant_text(self) -> str:
        """What grants it, in words: "AdministratorAccess through group g", "inline policy p
        allows iam:*"."""
        if self.managed_by_aws:
            return self.origin
        return f"{self.source} allows {self.action_text()}{self.through}"

    def covers_action(self, action: str) -> bool:
        # Statements of managed policies are shared by every principal holding them, and
        # AWS's own (ReadOnlyAccess) name thousands of actions: each question is answered once.
        known = self._covers.get(action)
        if known is None:
            known = self._covers[action] = _action_set(self.actions).has(action) != self.not_action
        return known

    def covers_resource(self, resource: str, context: Context) -> bool:
        hit = any(_resource_matches(pattern, resource, context) for pattern in self.resources)
        return hit != self.not_resource

    def action_text(self) -> str:
        """The statement's actions as written, for reasons: `*`, `iam:Put*`, `all but iam:*`."""
        listed = ", ".join(self.actions)
        return f"all but {listed}" if self.not_action else listed


def statements(
    document: Any, source: str, *, managed_by_aws: bool = False
) -> tuple[Statement, ...]:
    """The statements of a policy document; what cannot be read grants and denies nothing."""
    if not isinstance(document, Mapping):
        return ()
    read = []
    for raw in listed(document.get("Statement")):
        if not isinstance(raw, Mapping) or raw.get("Effect") not in ("Allow", "Deny"):
            continue
        not_action = "NotAction" in raw
        not_resource = "NotResource" in raw
        actions = strings(raw.get("NotAction" if not_action else "Action"))
        resources = strings(raw.get("NotResource" if not_resource else "Resource"))
        if not actions and not not_action:
            continue  # a statement with no action applies to nothing
        condition = raw.get("Condition")
        read.append(
            Statement(
                allow=raw["Effect"] == "Allow",
                actions=actions,
                not_action=not_action,
                resources=resources,
                not_resource=not_resource,
                condition=condition if isinstance(condition, Mapping) and condition else None,
                source=source,
                managed_by_aws=managed_by_aws,
            )
        )
    return tuple(read)


@lru_cache(maxsize=1024)
def _action_set(patterns: tuple[str, ...]) -> _ActionSet:
    return _ActionSet(patterns)


class _ActionSet:
    """A statement's action patterns, asked about one action at a time. AWS's own policies name
    thousands (ReadOnlyAccess): names without wildcards are looked up, and those with wildcards
    are compiled by service, a service's only when an action of it is asked about."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.names = {p.lower() for p in patterns if "*" not in p and "?" not in p}
        self.wild: dict[str, list[str]] = {}
        for pattern in patterns:
            if "*" in pattern or "?" in pattern:
                service, colon, _ = pattern.lower().partition(":")
                wild_service = not colon or "*" in service or "?" in service
                self.wild.setdefault("" if wild_service else service, []).append(pattern)
        self._compiled: dict[str, re.Pattern[str] | None] = {}

    def has(self, action: str) -> bool:
        lowered = action.lower()
        if lowered in self.names:
            return True
        service = lowered.partition(":")[0]
        return any(
            regex is not None and regex.fullmatch(action) is not None
            for regex in (self._regex(service), self._regex(""))
        )

    def _regex(self, service: str) -> re.Pattern[str] | None:
        if service not in self._compiled:
            patterns = self.wild.get(service)
            self._compiled[service] = (
                re.compile("|".join(f"(?:{_wildcards(p)})" for p in patterns), re.I | re.S)
                if patterns
                else None
            )
        return self._compiled[service]


def _resource_matches(pattern: str, resource: str, context: Context) -> bool:
    """ARN patterns are case-sensitive; `*` and `?` match across `:` and `/`."""
    if pattern == "*":
        return True
    expanded = context.expand(pattern)
    if expanded is None:
        return False
    return fnmatchcase(resource, expanded.replace("[", "[[]"))


def _wildcards(pattern: str) -> str:
    return re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")


def wildcard_matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """A policy's string pattern (StringLike, principals): `*` and `?` wildcards."""
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.fullmatch(_wildcards(pattern), value, flags) is not None


Requirement = tuple[str, ...]  # a grant's conditions in words; () when it holds always


def condition_holds(condition: Mapping[str, Any] | None, context: Context) -> Requirement | None:
    """What `condition` needs of a request: () if it holds, None if it fails on what is known,
    else its clauses not decidable here, in words."""
    if not condition:
        return ()
    unknown: list[str] = []
    for operator, clauses in condition.items():
        if not isinstance(clauses, Mapping):
            unknown.append(str(operator))
            continue
        for key, wanted in clauses.items():
            verdict = _clause(str(operator), str(key), strings(wanted), context)
            if verdict is False:
                return None
            if verdict is None:
                unknown.append(describe_clause(str(operator), str(key), strings(wanted)))
    return tuple(unknown)


def _clause(operator: str, key: str, wanted: tuple[str, ...], context: Context) -> bool | None:
    """A clause decided on a known key (True or False), or None when its key is not known."""
    known = context.values.get(key.lower())
    base = operator.lower().removesuffix("ifexists")
    if known is None or base not in STRING_EQUALS | STRING_LIKE:
        return None
    if base in STRING_EQUALS:
        return known in wanted
    return any(wildcard_matches(pattern, known) for pattern in wanted)


def describe_clause(
    operator: str, key: str, values: tuple[str, ...], *, negate: bool = False
) -> str:
    """A condition clause as the phrase a grant carries: "when MFA is present", "from
    10.0.0.0/8", "unless aws:RequestedRegion StringEquals eu-west-1" (`negate`: a Deny's)."""
    joined = " or ".join(values)
    lowered, base = key.lower(), operator.lower().removesuffix("ifexists")
    if lowered == "aws:multifactorauthpresent" and base == "bool":
        present = "true" in (value.lower() for value in values)
        return f"when MFA is {'present' if present != negate else 'absent'}"
    if lowered == "aws:sourceip" and base in ("ipaddress", "notipaddress"):
        inside = (base == "ipaddress") != negate
        return f"{'from' if inside else 'not from'} {joined}"
    return f"{'unless' if negate else 'when'} {key} {operator} {joined}"


def describe_deny(condition: Mapping[str, Any]) -> str:
    """The requirement a conditional Deny puts on a grant: that its condition does not hold."""
    clauses = [
        (str(operator), str(key), strings(values))
        for operator, block in condition.items()
        if isinstance(block, Mapping)
        for key, values in block.items()
    ]
    if len(clauses) == 1:
        return describe_clause(*clauses[0], negate=True)
    return "unless " + " and ".join(f"{k} {o} {' or '.join(v)}" for o, k, v in clauses)


def strings(value: Any) -> tuple[str, ...]:
    return tuple(item if isinstance(item, str) else str(item) for item in listed(value))


def listed(value: Any) -> Iterable[Any]:
    """Policy grammar allows one element or a list wherever a list may stand."""
    if value is None:
        return ()
    return value if isinstance(value, list) else (value,)
