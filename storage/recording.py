"""Recording a scan: the scan and its accounts, then every account's findings brought up to
date (opened, updated, reopened after a keep, resolved) through the checked workflow step."""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import uuid4

from sqlalchemy import Connection, insert, select

from bot.domain.clock import iso, parse_iso
from bot.domain.deadlines import keep_expired, opening
from bot.domain.records import FindingChanges, FindingView
from bot.domain.riding import FindingKey, carried, identity
from bot.domain.rule import (
    DIFFERENT_USER,
    KEY_GONE,
    USER_DELETED,
    AccessKeyUse,
    Candidate,
    UserCredentials,
)
from bot.domain.scan import AccountScan, ScanResult
from bot.domain.workflow import CARRIED_OUT, AuditAction, Intent, State, may
from storage import assessments
from storage.bulk import insert_rows, update_rows
from storage.steps import audit_values, take_step
from storage.tables import audit_events, findings, scan_accounts, scans
from storage.views import finding_views, inserted_view


@dataclass
class ScanRecord:
    """What recording a scan changed: the rows to announce and the rows that closed."""

    scan_id: int
    new: list[FindingView] = field(default_factory=list)
    reopened: list[FindingView] = field(default_factory=list)
    updated: list[FindingView] = field(default_factory=list)
    resolved: list[FindingView] = field(default_factory=list)

    @property
    def to_announce(self) -> list[FindingView]:
        return self.new + self.reopened

    @property
    def touched(self) -> list[FindingView]:
        """Every finding the scan saw or closed, as it left them."""
        return [*self.new, *self.reopened, *self.updated, *self.resolved]


def record(connection: Connection, result: ScanResult, trigger: str, dry_run: bool) -> ScanRecord:
    """Store the scan and bring findings up to date, in the caller's transaction."""
    scan_id: int = connection.execute(
        insert(scans)
        .values(
            started_at=result.started_at,
            finished_at=result.finished_at,
            source=result.source,
            trigger=trigger,
            status=result.status,
        )
        .returning(scans.c.id)
    ).scalar_one()
    insert_rows(
        connection,
        scan_accounts,
        [_scan_account_row(scan_id, account) for account in result.accounts],
    )
    record = ScanRecord(scan_id=scan_id)
    spared = _spared_keys(connection, result.started_at)
    for account in result.accounts:
        if account.ok:  # a failed account's findings and verdicts stay as they were
            account_spared = spared.get(account.target.account_id, set())
            _sync_account(connection, account, result.started_at, record, dry_run, account_spared)
            assessments.record(connection, account, result.started_at)
    return record


KEEP_ENDED = FindingChanges(kept_until=None)


def _scan_account_row(scan_id: int, account: AccountScan) -> dict[str, Any]:
    return {
        "scan_id": scan_id,
        "account_id": account.target.account_id,
        "account_name": account.target.name,
        "status": "ok" if account.ok else "failed",
        "error": account.error,
        "users_seen": account.users_seen,
        "findings": len(account.candidates),
        "report_generated_at": account.report_generated_at,
    }


def _sync_account(
    connection: Connection,
    account: AccountScan,
    now: datetime,
    record: ScanRecord,
    dry_run: bool,
    spared: set[FindingKey],
) -> None:
    """Set-based: the account's open rows read at once, their facts written in one statement,
    new findings and their audit rows inserted in one each; only the few rows that change
    state (reopened, resolved) take the checked step one by one."""
    account_id = account.target.account_id
    open_rows = {
        row_identity(row): row
        for row in finding_views(
            connection, findings.c.account_id == account_id, findings.c.closed_at.is_(None)
        )
    }
    kept_keys = {
        row.user_name: row.requested_keys or []
        for (_name, key), row in open_rows.items()
        if key is None and row.state == State.KEPT
    }
    candidates = carried(
        account.candidates,
        account.keys.own_finding if account.keys else _no_finding,
        {key: row.state for key, row in open_rows.items()},
        kept_keys,
        spared,
    )
    seen: list[tuple[FindingView, Candidate]] = []
    unseen: list[Candidate] = []
    for candidate in candidates:
        row = open_rows.pop(identity(candidate), None)
        if row is not None and _another_user(row, candidate):
            if not may(Intent.RESOLVE, row.state):
                continue  # a removal is under way: it re-checks the identity itself
            _resolve(connection, row, DIFFERENT_USER, now, record)
            row = None
        if row is None:
            unseen.append(candidate)
            continue
        seen.append((row, candidate))
        if keep_expired(row.kept_until, now) and may(Intent.REOPEN, row.state):
            _scan_step(connection, row, Intent.REOPEN, now, "keep expired", KEEP_ENDED)
            record.reopened.append(row)
        else:
            record.updated.append(row)
    users_seen = account.cleared.keys() | {candidate.user_name for candidate in candidates}
    for row in open_rows.values():
        if may(Intent.RESOLVE, row.state):
            _resolve(connection, row, _why_not_seen(row, account, users_seen), now, record)
    _update_facts(connection, seen, now)
    _open(connection, unseen, now, record, account, dry_run)


def _update_facts(
    connection: Connection, seen: list[tuple[FindingView, Candidate]], now: datetime
) -> None:
    """What the scan says now about users already found, in one statement. Facts decide
    nothing, so the row's version stays: a decision taken meanwhile is not undone, nor undoes
    this."""
    if not seen:
        return
    values = []
    for row, candidate in seen:
        facts = _facts(candidate, now, row.user_id)
        for name, value in facts.items():
            setattr(row, name, value)  # the row as written
        values.append({"id": row.id, **facts})
    update_rows(connection, findings, "id", values)


def _open(
    connection: Connection,
    candidates: list[Candidate],
    now: datetime,
    record: ScanRecord,
    account: AccountScan,
    dry_run: bool,
) -> None:
    """New findings and their `opened` audit rows, one insert each."""
    last_closed = _last_closed(connection, account.target.account_id, candidates)
    # The API's answers are as old as the scan: read from its start on.
    facts_from = account.report_generated_at or now
    rows, events = [], []
    for candidate in candidates:
        verdict = opening(last_closed.get(identity(candidate)), facts_from, dry_run)
        if not verdict.allowed:
            continue
        values = {
            "id": uuid4().hex,
            "account_id": candidate.account_id,
            "user_name": candidate.user_name,
            "state": State.OPEN,
            "first_seen": now,
            "state_changed_at": now,
            "decision_note": verdict.note,
            "version": 1,
            # Known from the API; from the report, learnt when the bot acts (never overwritten).
            "key_id": candidate.key.key_id if candidate.key else None,
            **_facts(candidate, now),
        }
        rows.append(values)
        why = "; ".join(filter(None, [f"idle {candidate.days_idle} days", verdict.note]))
        events.append(audit_values(values["id"], now, AuditAction.OPENED, why, to_state=State.OPEN))
    insert_rows(connection, findings, rows)
    insert_rows(connection, audit_events, events)
    record.new.extend(inserted_view(values) for values in rows)


def _last_closed(
    connection: Connection, account_id: str, candidates: list[Candidate]
) -> dict[FindingKey, FindingView]:
    """The last closed finding of each of these users, if any."""
    if not candidates:
        return {}
    closed = finding_views(
        connection,
        findings.c.account_id == account_id,
        findings.c.user_name.in_([candidate.user_name for candidate in candidates]),
        findings.c.closed_at.is_not(None),
        order_by=findings.c.closed_at,
    )
    return {row_identity(row): row for row in closed}


def _spared_keys(connection: Connection, now: datetime) -> dict[str, set[FindingKey]]:
    """By account, the keys their owners turned back on lately (a reactivation recorded,
    settled or not, spares its keys until `kept_until`, KEY_IDLE_DAYS on): few, read in one
    query for the whole scan."""
    query = select(findings.c.account_id, findings.c.user_name, findings.c.deactivated_keys).where(
        findings.c.state.in_(CARRIED_OUT), findings.c.kept_until > now
    )
    spared: dict[str, set[FindingKey]] = {}
    for account_id, user_name, keys in connection.execute(query):
        spared.setdefault(account_id, set()).update(
            (user_name, parse_iso(key["created"])) for key in keys or ()
        )
    return spared


def _no_finding(_user_name: str, _created: datetime) -> None:
    return None


def row_identity(row: FindingView) -> FindingKey:
    """What a finding is about: a user's password (no key), or one of its keys."""
    return row.user_name, row.key_created


def _why_not_seen(row: FindingView, account: AccountScan, users_seen: AbstractSet[str]) -> str:
    """Why a scan that saw the account no longer finds this: its user's or its key's reason,
    else the user or the key is gone."""
    if row.key_created is None:
        return account.cleared.get(row.user_name, USER_DELETED)
    keys = account.keys
    reason = keys.why_not_a_finding(row.user_name, row.key_created) if keys else None
    if reason is not None:
        return reason
    return KEY_GONE if row.user_name in users_seen else USER_DELETED


def _another_user(row: FindingView, candidate: Candidate) -> bool:
    return bool(row.user_id and candidate.user_id and row.user_id != candidate.user_id)


def _resolve(
    connection: Connection, row: FindingView, reason: str, now: datetime, record: ScanRecord
) -> None:
    _scan_step(connection, row, Intent.RESOLVE, now, reason, FindingChanges(resolution=reason))
    record.resolved.append(row)


def _scan_step(
    connection: Connection,
    row: FindingView,
    intent: Intent,
    now: datetime,
    reason: str,
    changes: FindingChanges,
) -> None:
    """A step the scan takes, dated when the scan began (what it read is from then), but never
    before the row's last step: a decision taken while the scan ran came first, in the audit
    log and the evidence as in fact."""
    at = max(now, row.state_changed_at) if row.state_changed_at else now
    take_step(connection, row, intent, at, reason, changes=changes)


def _facts(candidate: Candidate, now: datetime, known_user_id: str | None = None) -> dict[str, Any]:
    """A finding's columns that say what the scan saw (written again at every scan)."""
    facts = candidate.credentials
    return {
        "user_arn": facts.arn,
        "category": candidate.category,
        "fully_inactive": candidate.fully_inactive,
        "days_idle": candidate.days_idle,
        "user_created": facts.created,
        "password_last_used": facts.password_last_used,
        "password_last_changed": facts.password_last_changed,
        "newest_key_used": facts.newest_key_use,
        "owner": candidate.owner,
        "user_id": candidate.user_id or known_user_id,
        "privileged": candidate.privileged,
        "privilege": candidate.privilege,
        "mfa_active": candidate.mfa_active,
        "facts": {**credentials_to_json(facts), "idle_keys": keys_to_json(candidate.idle_keys)},
        "last_seen": now,
        **_key_facts(candidate),
    }


def _key_facts(candidate: Candidate) -> dict[str, Any]:
    """An idle_key finding's key: when it was made, and its last use rather than the user's."""
    key = candidate.key
    if key is None:
        return {"key_created": None}
    return {"key_created": key.created, "newest_key_used": key.last_used}


def credentials_to_json(facts: UserCredentials) -> dict[str, Any]:
    return {
        "arn": facts.arn,
        "created": iso(facts.created),
        "has_password": facts.has_password,
        "password_last_used": iso(facts.password_last_used),
        "password_last_changed": iso(facts.password_last_changed),
        "mfa_active": facts.mfa_active,
        "keys": keys_to_json(facts.keys),
    }


def keys_to_json(keys: Sequence[AccessKeyUse]) -> list[dict[str, Any]]:
    return [
        {
            "active": key.active,
            "last_used": iso(key.last_used),
            "key_id": key.key_id,
            "created": iso(key.created),
            "last_used_service": key.last_used_service,
        }
        for key in keys
    ]
