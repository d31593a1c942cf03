"""One principal's request, decided in AWS's order for identity policies. Pure.

An explicit Deny (in the identity policies or the permissions boundary) wins; else an Allow is
needed in the identity policies and, when there is a boundary, in the boundary too. A Deny that
holds only under a condition does not decide: the grant then needs that condition not to hold.
SCPs, resource policies other than a role's trust, and session policies are not weighed (the
README's Risk section).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

from bot.domain.policy import Context, Requirement, Statement, condition_holds, describe_deny


class Principal(NamedTuple):
    """A user or a role: what its identity policies say (groups' included), and its boundary's
    (None: no boundary). A named tuple, immutable as a frozen dataclass, since one is made for
    every user of every account (a frozen dataclass takes four times as long to make)."""

    kind: str  # "user" or "role"
    name: str
    arn: str
    statements: tuple[Statement, ...]
    boundary: tuple[Statement, ...] | None = None
    boundary_name: str | None = None
    variables: Mapping[str, str] = MappingProxyType({})

    def context(self, **request: str) -> Context:
        return Context({**self.variables, **request})


@dataclass(frozen=True)
class Access:
    """Allowed: by which statement, and under which conditions (none: always)."""

    statement: Statement
    requires: Requirement = ()


@dataclass(frozen=True)
class Refused:
    """Not allowed although an identity policy allows it: denied, or outside the boundary."""

    statement: Statement  # the Allow it would have come from
    why: str  # "denied by inline policy quarantine", "outside the boundary ReadOnlyAccess"
    denied: bool = False  # by an explicit Deny (else: outside the boundary)


Decision = Access | Refused | None  # None: nothing allows it


def decide(
    principal: Principal,
    action: str,
    resource: str,
    context: Context,
    extra: Iterable[Statement] = (),
) -> Decision:
    """Whether `principal` may do `action` on `resource`; `extra` statements count as its own
    (what it would have once it granted them to itself)."""
    own = (*principal.statements, *extra)
    allowed = _best_allow(own, action, resource, context)
    if allowed is None:
        return None
    requires = list(allowed.requires)
    for statement in (*own, *(principal.boundary or ())):
        if statement.allow or not _applies(statement, action, resource, context):
            continue
        holds = condition_holds(statement.condition, context)
        if holds == ():
            return Refused(allowed.statement, f"denied by {statement.origin}", denied=True)
        if holds is not None and statement.condition:
            requires.append(describe_deny(statement.condition))
    if principal.boundary is not None:
        bounded = _best_allow(principal.boundary, action, resource, context)
        if bounded is None:
            return Refused(allowed.statement, f"outside the boundary {principal.boundary_name}")
        requires.extend(bounded.requires)
    return Access(allowed.statement, tuple(dict.fromkeys(requires)))


def _best_allow(
    statements: Iterable[Statement], action: str, resource: str, context: Context
) -> Access | None:
    """The Allow that grants it with the fewest conditions (one that always holds first)."""
    best: Access | None = None
    for statement in statements:
        if not statement.allow or not _applies(statement, action, resource, context):
            continue
        requires = condition_holds(statement.condition, context)
        if requires is None:
            continue
        if best is None or len(requires) < len(best.requires):
            best = Access(statement, requires)
            if not requires:
                break
    return best


def _applies(statement: Statement, action: str, resource: str, context: Context) -> bool:
    return statement.covers_action(action) and statement.covers_resource(resource, context)


# Full administrator: every action of every service on every resource. Decided on probes no
# real name matches, so only patterns that stand for everything (`*`, `iam:*`, NotAction lists
# that leave the service in) count; the services named are those whose loss ends administration.
ANY_RESOURCE = "arn:aws:zz9probe:zz9:000000000000:zz9probe/zz9"
ADMIN_PROBES = tuple(
    f"{service}:Zz9Probe"
    for service in ("zz9probe", "iam", "sts", "organizations", "ec2", "s3", "lambda", "kms")
)
# What a principal grants itself with iam:PutUserPolicy, AttachUserPolicy and the like.
GRANT_ALL = Statement(True, ("*",), False, ("*",), False, None, "a policy it grants itself")


def administrator(principal: Principal, extra: Iterable[Statement] = ()) -> Decision:
    """Whether the principal is a full administrator: Access (the generic probe's statement,
    with every probe's conditions), Refused (an Allow would make it one but a Deny or the
    boundary stops it), or None."""
    extras = tuple(extra)
    context = principal.context()
    requires: list[str] = []
    first: Access | None = None
    for probe in ADMIN_PROBES:
        decision = decide(principal, probe, ANY_RESOURCE, context, extras)
        if not isinstance(decision, Access):
            return decision
        first = first or decision
        requires.extend(decision.requires)
    assert first is not None  # ADMIN_PROBES is not empty
    return Access(first.statement, tuple(dict.fromkeys(requires)))


def allows(principal: Principal, action: str, resource: str, **request: str) -> Access | None:
    """Access if `principal` may do it (under the conditions it names), else None."""
    decision = decide(principal, action, resource, principal.context(**request))
    return decision if isinstance(decision, Access) else None


def may_attempt(principal: Principal, actions: Iterable[str]) -> bool:
    """Cheap pre-check: whether any Allow names any of `actions` at all (on any resource)."""
    wanted = tuple(actions)
    return any(
        statement.allow and any(statement.covers_action(action) for action in wanted)
        for statement in principal.statements
    )
