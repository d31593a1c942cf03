"""Who in an account can reach full administrator, and by which path. Pure.

Judged once per account, not once per user: every principal that is an administrator (or can
make itself one) is found first; then, breadth first from them, every principal that can become
one of them: by taking over a user's credentials, assuming a role, rewriting a role's trust, or
passing a role to a service that runs code with it. So the shortest path is the one shown, a
path through several roles is followed to its end, and each (actor, target) pair is weighed at
most once. What is and is not followed is listed in the README's Risk section.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain

from bot.domain.authorization import (
    Details,
    RoleDetail,
    Statements,
    TrustStatement,
    trust_admits,
    trust_statements,
    trusts_service,
)
from bot.domain.evaluation import (
    ANY_RESOURCE,
    GRANT_ALL,
    Access,
    Principal,
    Refused,
    administrator,
    allows,
    decide,
    may_attempt,
)
from bot.domain.policy import Requirement, Statement
from bot.domain.steps import (
    ASSUME,
    CODE_RUNNERS,
    GROUP_EDIT,
    IAM_PRINCIPAL,
    JOIN,
    NEW_TRUST,
    NEW_VERSION,
    OLD_VERSION,
    PASS,
    ROLE_EDIT,
    SELF_EDIT,
    TAKEOVER,
    USER_EDIT,
    Index,
    steps_of,
)


@dataclass(frozen=True)
class Verdict:
    """`privileged`, and why as a short path (or why an Allow of everything does not count)."""

    privileged: bool
    why: str | None = None


NOT_PRIVILEGED = Verdict(False)  # most users': one for all


@dataclass(frozen=True)
class _Reason:
    text: str  # "AdministratorAccess", "can sts:AssumeRole into role ops"
    then: str | None = None  # the ARN of the principal the step leads to; None: the last step


def judge(details: Details) -> dict[str, Verdict]:
    """Every user's verdict, by user name."""
    return _Account(details).verdicts()


class _Account:
    def __init__(self, details: Details) -> None:
        self.read = Statements(details)
        self.users = {user.arn: (user, self.read.user(user)) for user in details.users}
        self.roles = {
            role.arn: (role, self.read.role(role), trust_statements(role.trust))
            for role in details.roles
        }
        self.principals = {arn: p for arn, (_, p) in self.users.items()} | {
            arn: p for arn, (_, p, _) in self.roles.items()
        }
        self.reasons: dict[str, _Reason] = {}
        self.refused: dict[str, str] = {}
        self._capable: dict[str, frozenset[str]] = {}
        self._steps: dict[int, frozenset[str]] = {}
        self._verdicts: dict[
            tuple[tuple[int, ...], tuple[int, ...] | None], Access | Refused | None
        ] = {}
        self._escalable: dict[str, bool] = {}
        self._order = {arn: index for index, arn in enumerate(self.principals)}
        self._indexes: dict[tuple[str, ...], Index] = {}

    def verdicts(self) -> dict[str, Verdict]:
        frontier = deque(self._administrators())
        while frontier:
            target = frontier.popleft()
            for actor, text in self._steps_into(target):
                self.reasons[actor] = _Reason(text, target)
                frontier.append(actor)
        return {
            user.name: Verdict(True, self.describe(arn))
            if arn in self.reasons
            else Verdict(False, self.refused[arn])
            if arn in self.refused
            else NOT_PRIVILEGED
            for arn, (user, _) in self.users.items()
        }

    def describe(self, arn: str) -> str:
        reason = self.reasons[arn]
        if reason.then is None:
            return reason.text
        after = self.reasons[reason.then]
        if after.then is None:
            return f"{reason.text} ({after.text})"
        return f"{reason.text}, which {self.describe(reason.then)}"

    # Administrators, and those who can make themselves administrators

    def _administrators(self) -> list[str]:
        found = []
        for arn, principal in self.principals.items():
            if not principal.statements:
                continue  # nothing allows it anything (most users): no decision, no edit
            decision = self._administrator(principal)
            if isinstance(decision, Access):
                self.reasons[arn] = _Reason(_granted(decision))
            elif isinstance(decision, Refused):
                self.refused[arn] = f"{decision.statement.grant_text()}, but {decision.why}"
            if (
                isinstance(decision, Access)
                or self._self_made(arn, principal)
                or self._role_made(arn, principal)
            ):
                found.append(arn)
        return found

    def _role_made(self, arn: str, principal: Principal) -> bool:
        """Whether `principal` can grant everything to a role it can then enter."""
        if not self._can(principal, (*ROLE_EDIT, NEW_VERSION)):
            return False
        for target, (role, _, trust) in self.roles.items():
            if target == arn or not self._escalable_arn(target):
                continue
            where = f"role {role.name}"
            edits = _granting(principal, ROLE_EDIT, target, where)
            versions = self._policy_edits(principal, self._attached(target), f"attached to {where}")
            edit = next(chain(edits, versions), None)
            enter = edit and self._into_role(principal, role, trust)
            if edit and enter:
                self.reasons[arn] = _Reason(f"{enter}, and {edit}")
                return True
        return False

    def _self_made(self, arn: str, principal: Principal) -> bool:
        if not self._can(principal, SELF_EDIT) or not self._escalable_arn(arn):
            return False
        for text in self._self_edits(arn, principal):
            self.reasons[arn] = _Reason(text)
            return True
        return False

    def _self_edits(self, arn: str, principal: Principal) -> Iterator[str]:
        """Ways `principal` can grant itself everything: edit its own policies or its groups',
        write a new version of a policy attached to it, restore an old one, join a group."""
        edits = USER_EDIT if principal.kind == "user" else ROLE_EDIT
        yield from _granting(principal, edits, arn, "self")
        user = self.users[arn][0] if arn in self.users else None
        groups = user.groups if user else ()
        for name in groups:
            group = self.read.details.groups.get(name)
            if group:
                yield from _granting(principal, GROUP_EDIT, group.arn, f"its group {name}")
        yield from self._policy_edits(principal, self._attached(arn), "attached to it")
        if user:
            yield from self._joins(principal, set(groups))

    def _policy_edits(self, principal: Principal, arns: Iterable[str], where: str) -> Iterator[str]:
        for arn in arns:
            policy = self.read.details.policies.get(arn)
            if policy is None or policy.managed_by_aws:
                continue
            yield from _granting(principal, (NEW_VERSION,), arn, f"policy {policy.name}, {where}")
            if policy.other_versions and allows(principal, OLD_VERSION, arn):
                for document in policy.other_versions:
                    extra = self.read.version(arn, document)
                    if isinstance(administrator(principal, extra), Access):
                        yield f"can {OLD_VERSION} on policy {policy.name}, {where}"
                        break

    def _joins(self, principal: Principal, groups: set[str]) -> Iterator[str]:
        if not self._can(principal, (JOIN,)):
            return
        for name, group in self.read.details.groups.items():
            if name in groups or not allows(principal, JOIN, group.arn):
                continue
            decision = administrator(principal, self.read.group(name))
            if isinstance(decision, Access):
                yield f"can {JOIN} into group {name} ({_granted(decision)})"

    def _attached(self, arn: str) -> tuple[str, ...]:
        if arn in self.users:
            user = self.users[arn][0]
            groups = [self.read.details.groups.get(name) for name in user.groups]
            grouped = tuple(a for g in groups if g for a in g.policies.managed)
            return user.policies.managed + grouped
        return self.roles[arn][0].policies.managed

    def _escalable_arn(self, arn: str) -> bool:
        """Whether the principal would be an administrator once it granted itself everything
        (a Deny or its boundary may stop it)."""
        if arn not in self._escalable:
            decision = self._administrator(self.principals[arn], (GRANT_ALL,))
            self._escalable[arn] = isinstance(decision, Access)
        return self._escalable[arn]

    def _administrator(
        self, principal: Principal, extra: tuple[Statement, ...] = ()
    ) -> Access | Refused | None:
        """administrator(), asked once for principals holding the same statements (the same
        groups and managed policies): on every resource, only policy variables tell them
        apart."""
        statements = (*principal.statements, *extra, *(principal.boundary or ()))
        if any("${" in r for statement in statements for r in statement.resources):
            return administrator(principal, extra)
        own = tuple(map(id, (*principal.statements, *extra)))
        key = (own, None if principal.boundary is None else tuple(map(id, principal.boundary)))
        if key not in self._verdicts:
            self._verdicts[key] = administrator(principal, extra)
        return self._verdicts[key]

    def _can(self, principal: Principal, actions: tuple[str, ...]) -> bool:
        """Whether any Allow of the principal's names one of `actions` (of STEPS) at all: most
        principals name none, and are passed over at once."""
        if principal.arn not in self._capable:
            steps: set[str] = set()
            for statement in principal.statements:
                steps |= self._steps_of(statement)
            self._capable[principal.arn] = frozenset(steps)
        return not self._capable[principal.arn].isdisjoint(actions)

    def _steps_of(self, statement: Statement) -> frozenset[str]:
        # by identity: a group's or a managed policy's statements are shared
        if id(statement) not in self._steps:
            self._steps[id(statement)] = steps_of(statement)
        return self._steps[id(statement)]

    def _index(self, actions: tuple[str, ...]) -> Index:
        if actions not in self._indexes:
            index = Index()
            for arn, principal in self.principals.items():
                if principal.statements and self._can(principal, actions):
                    index.add(arn, principal, actions, self._steps_of)
            self._indexes[actions] = index
        return self._indexes[actions]

    def _actors(self, target: str) -> list[str]:
        """The principals that may have a step into `target`, in the account's order: those
        whose Allow of a step's action names a resource that can be the target."""
        if target in self.users:
            found = self._index(TAKEOVER).of(self.users[target][0].name)
        else:
            role, _, trust = self.roles[target]
            found = self._index((NEW_TRUST,)).of(role.name)
            for statement in trust:
                found |= {arn for arn in statement.aws if arn in self.principals}
                if any(
                    not arn.startswith(IAM_PRINCIPAL) or arn.endswith(":root")
                    for arn in statement.aws
                ):
                    found |= self._index((ASSUME,)).of(role.name)
            if any(trusts_service(trust, service) for service in CODE_RUNNERS):
                found |= self._index((PASS,)).of(role.name)
        return sorted(found - {target} - self.reasons.keys(), key=self._order.__getitem__)

    # Steps into a principal that is (or can make itself) an administrator

    def _steps_into(self, target: str) -> Iterable[tuple[str, str]]:
        for arn in self._actors(target):
            text = self._step(self.principals[arn], target)
            if text:
                yield arn, text

    def _step(self, actor: Principal, target: str) -> str | None:
        if target in self.users:
            if not self._can(actor, TAKEOVER):
                return None
            name = self.users[target][0].name
            return next(_granting(actor, TAKEOVER, target, f"user {name}"), None)
        role, _, trust = self.roles[target]
        return self._into_role(actor, role, trust)

    def _into_role(
        self, actor: Principal, role: RoleDetail, trust: tuple[TrustStatement, ...]
    ) -> str | None:
        admitted = trust_admits(trust, actor)
        if admitted is not None:
            named, requires = admitted
            decision = decide(actor, ASSUME, role.arn, actor.context())
            # A trust naming the user itself needs no identity policy; one naming the account
            # needs one. An explicit Deny stops both.
            denied = isinstance(decision, Refused) and decision.denied
            if isinstance(decision, Access) or (named and not denied):
                extra = decision.requires if isinstance(decision, Access) else ()
                return _with(f"can {ASSUME} into role {role.name}", requires + extra)
        if self._can(actor, (NEW_TRUST,)):
            step = next(_granting(actor, (NEW_TRUST,), role.arn, f"role {role.name}"), None)
            if step:
                return step
        if self._can(actor, (PASS,)):
            return self._pass(actor, role, trust)
        return None

    def _pass(
        self, actor: Principal, role: RoleDetail, trust: tuple[TrustStatement, ...]
    ) -> str | None:
        for service, needs in CODE_RUNNERS.items():
            if not trusts_service(trust, service):
                continue
            if service == "ec2.amazonaws.com" and not role.instance_profile:
                continue
            passed = allows(actor, PASS, role.arn, **{"iam:passedtoservice": service})
            used = [_runs(actor, group) for group in needs]
            if passed and all(used):
                actions = ", ".join(action for action in used if action)
                text = f"can {PASS} role {role.name} to {service} with {actions}"
                return _with(text, passed.requires)
        return None


def _granting(
    actor: Principal, actions: tuple[str, ...], resource: str, what: str
) -> Iterator[str]:
    for action in actions:
        access = allows(actor, action, resource)
        if access:
            yield _with(f"can {action} on {what}", access.requires)


def _runs(actor: Principal, actions: tuple[str, ...]) -> str | None:
    """The first of `actions` the actor may do on some resource (services' resource patterns
    vary: any Allow of the action not denied everywhere counts)."""
    for action in actions:
        if may_attempt(actor, (action,)) and not _denied_everywhere(actor, action):
            return action
    return None


def _denied_everywhere(actor: Principal, action: str) -> bool:
    decision = decide(actor, action, ANY_RESOURCE, actor.context())
    return isinstance(decision, Refused) and decision.denied


def _granted(access: Access) -> str:
    return _with(access.statement.grant_text(), access.requires)


def _with(text: str, requires: Requirement) -> str:
    return " ".join((text, *requires))
