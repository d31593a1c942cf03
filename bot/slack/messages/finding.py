"""One finding as every surface shows it: its facts, its access keys, where its decision stands,
and what Disable and Reactivate do to it under the settings.

A finding is a console password (`dormant`, `keys_only`), which carries its user's idle access
keys (`facts["idle_keys"]`: one decision removes the password and deactivates them), or one idle
access key (`idle_key`, `key_created` set). Keys are recorded as the scan saw them, their times as
ISO strings; a key's id is known only from the API source, or once the bot acted on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, ConfirmObject, PlainTextObject

from bot.domain.access_keys import finding_key as recorded_key
from bot.domain.access_keys import riding_keys
from bot.domain.clock import parse_iso
from bot.domain.home import offers_reactivate
from bot.domain.records import FindingView
from bot.domain.risk import KEY_WITHOUT_MFA, MFA_WORDS, user_path
from bot.domain.rule import IDLE_KEY, KEYS_ONLY, AccessKeyUse
from bot.domain.settings import Settings
from bot.domain.workflow import State, disable_refusal
from bot.slack.ids import ActionId
from bot.slack.messages.blocks import MAX_CONFIRM_TEXT, day, owner_label
from bot.slack.messages.text import literal, mention, plain

# How a value from AWS or people is shown: `literal` in mrkdwn; as it is (`raw`) in text that
# goes through `plain` as a whole (a confirm dialog).
Show = Callable[[str | None], str]
CATEGORY_LABELS = {KEYS_ONLY: "keys only", IDLE_KEY: "idle access key"}
PRIVILEGED_MARK = ":rotating_light: "
MFA_LABELS = {**MFA_WORDS, False: f"*{MFA_WORDS[False]}*"}  # no MFA stands out
MAX_SERVICE = 64  # of the service a key was last used with


def raw(value: str | None) -> str:
    return value or ""


@dataclass(frozen=True)
class KeyRules:
    """What the settings let the bot do to access keys, as a message is drawn `now`: whether
    Disable deactivates them (KEY_ACTIONS), for how long after that Reactivate is offered
    (KEY_REACTIVATE_DAYS), and whether keys still inactive are then deleted
    (KEY_DELETE_AFTER_DAYS)."""

    deactivate: bool
    reactivate_days: int
    now: datetime
    delete_after_days: int | None = None

    @classmethod
    def of(cls, settings: Settings, now: datetime) -> KeyRules:
        return cls(
            settings.deactivates_keys,
            settings.key_reactivate_days,
            now,
            settings.key_delete_after_days,
        )

    def disable_refused(self, row: FindingView) -> str | None:
        """Why Disable is not offered on this finding whatever its state, or None."""
        return disable_refusal(row, self.deactivate)

    def reactivatable(self, row: FindingView) -> bool:
        return offers_reactivate(row, self.now, self.reactivate_days)

    def reactivate_until(self, row: FindingView) -> datetime | None:
        """The end of Reactivate's window, while it is offered on this finding."""
        if row.closed_at is None or not self.reactivatable(row):
            return None
        return row.closed_at + timedelta(days=self.reactivate_days)

    def keys_disabled(self, row: FindingView) -> tuple[AccessKeyUse, ...]:
        """The access keys Disable deactivates on this finding (a password's idle keys, or the
        key finding's key): none while KEY_ACTIONS=off."""
        if not self.deactivate:
            return ()
        return (finding_key(row),) if is_key_finding(row) else idle_keys(row)

    def undo(self, what: str) -> str:
        """How a deactivation of `what` is undone, and what becomes of keys nobody turns back
        on."""
        then = (
            f"; keys still inactive {self.delete_after_days} days after it are deleted"
            if self.delete_after_days is not None
            else ""
        )
        return f"Reactivate turns {what} back on for {self.reactivate_days} days{then}."


def is_key_finding(row: FindingView) -> bool:
    return row.key_created is not None


def recorded_keys(entries: Iterable[dict[str, Any]] | None) -> tuple[AccessKeyUse, ...]:
    """Access keys as a finding's facts record them."""
    return tuple(
        AccessKeyUse(
            active=bool(entry.get("active")),
            last_used=_moment(entry.get("last_used")),
            key_id=entry.get("key_id"),
            created=_moment(entry.get("created")),
            last_used_service=entry.get("last_used_service"),
        )
        for entry in entries or ()
    )


def finding_key(row: FindingView) -> AccessKeyUse:
    """An idle_key finding's key, as the scan recorded it (`access_keys.finding_key`)."""
    (key,) = recorded_keys([recorded_key(row) or {}])
    return key


def idle_keys(row: FindingView) -> tuple[AccessKeyUse, ...]:
    """A password finding's idle keys, decided with it."""
    return recorded_keys(riding_keys(row))


def deactivated_keys(row: FindingView) -> tuple[AccessKeyUse, ...]:
    """The keys the bot deactivated when this finding was disabled."""
    return tuple(replace(key, active=False) for key in recorded_keys(row.deactivated_keys))


def key_name(key: AccessKeyUse, zone: tzinfo, show: Show = literal) -> str:
    """ "access key `AKIA…` created 2024-01-03"; by its creation alone while its id is not known
    (the credential report has no key ids)."""
    made = f"created {day(key.created, zone)}"
    return f"access key {show(key.key_id)} {made}" if key.key_id else f"access key {made}"


def key_use(key: AccessKeyUse, zone: tzinfo) -> str:
    if key.last_used is None:
        return "never used"
    service = key.last_used_service
    return f"last used {day(key.last_used, zone)}" + (
        f" ({literal(service, MAX_SERVICE)})" if service else ""
    )


def key_line(key: AccessKeyUse, zone: tzinfo) -> str:
    return f"{key_name(key, zone)}, {key_use(key, zone)}"


def named(row: FindingView, zone: tzinfo, show: Show = literal) -> str:
    """What the finding is about, in a line: the user, or which key of the user."""
    if is_key_finding(row):
        return f"{key_name(finding_key(row), zone, show)} of {show(row.user_name)}"
    return show(row.user_name)


def credential(row: FindingView, zone: tzinfo) -> str:
    """The credential the finding is about: "console password of `ann`", or its key."""
    return named(row, zone) if is_key_finding(row) else f"console password of {named(row, zone)}"


def counted(number: int, thing: str) -> str:
    return f"{number} {thing}{'' if number == 1 else 's'}"


def its_idle_keys(number: int) -> str:
    return "its idle access key" if number == 1 else f"its {number} idle access keys"


def category_label(row: FindingView) -> str:
    label = CATEGORY_LABELS.get(row.category, "dormant")
    return label + (", fully inactive" if row.fully_inactive else "")


def finding_facts(row: FindingView, zone: tzinfo) -> str:
    lines = [f"{literal(row.user_name)} in {literal(row.account_id)} · {category_label(row)}"]
    owner = f"owner {owner_label(row)}"
    if is_key_finding(row):
        key = key_line(finding_key(row), zone)
        lines.append(
            f"{key[:1].upper()}{key[1:]} · idle *{row.days_idle} days* · "
            f"{_password_fact(row, zone)} · {owner}"
        )
    else:
        lines.append(
            f"Idle *{row.days_idle} days* · last password use {day(row.password_last_used, zone)}"
            f" · newest key use {day(row.newest_key_used, zone)} · {owner}"
        )
    lines.append(risk_line(row, zone))
    riding = idle_keys(row)
    if riding:
        lines.append("Idle access keys: " + "; ".join(key_line(key, zone) for key in riding))
    return "\n".join(lines)


def _password_fact(row: FindingView, zone: tzinfo) -> str:
    if not (row.facts or {}).get("has_password", True):
        return "no console password"
    return f"password last used {day(row.password_last_used, zone)}"


def risk_line(row: FindingView, zone: tzinfo) -> str:
    """What makes this finding matter: privilege (marked), MFA, the access keys, the path."""
    parts = []
    if row.privileged:
        why = literal(row.privilege, 300)
        parts.append(f"{PRIVILEGED_MARK}*Privileged*: {why}")
    elif row.privileged is None:
        parts.append("privilege not known")
    elif row.privilege:  # why an Allow of everything does not count (a Deny, a boundary)
        parts.append(f"not privileged: {literal(row.privilege, 300)}")
    # MFA guards the console, not an access key: a key finding says so instead of the user's.
    parts.append(f"*{KEY_WITHOUT_MFA}*" if row.key_created else MFA_LABELS[row.mfa_active])
    parts.append(keys_label(recorded_keys((row.facts or {}).get("keys")), zone))
    path = user_path(row.user_arn)
    if path != "/":
        parts.append(f"path {literal(path, 200)}")
    return " · ".join(parts)


def keys_label(keys: tuple[AccessKeyUse, ...], zone: tzinfo) -> str:
    """The user's access keys as the scan saw them."""
    if not keys:
        return "no access keys"
    return "keys: " + "; ".join(
        f"{'active' if key.active else 'inactive'}, "
        + (f"used {day(key.last_used, zone)}" if key.last_used else "never used")
        for key in keys
    )


def kept_until(row: FindingView, zone: tzinfo) -> str:
    return f"until {day(row.kept_until, zone)}" if row.kept_until else "until revoked"


def disable_words(
    row: FindingView, keys: KeyRules, zone: tzinfo, show: Show = literal, *, whose: bool = True
) -> str:
    """What Disable does to this finding: "removing the console password of `ann`
    (`111122223333`) and deactivating its 2 idle access keys" (`whose`: naming the user)."""
    of = f" of {show(row.user_name)} ({show(row.account_id)})" if whose else ""
    if is_key_finding(row):
        return f"deactivating {key_name(finding_key(row), zone, show)}{of}"
    riding = len(keys.keys_disabled(row))
    also = f" and deactivating {its_idle_keys(riding)}" if riding else ""
    return f"removing the console password{of}{also}"


def after_disable(row: FindingView, keys: KeyRules) -> str:
    """What still works after Disable, and how it is undone."""
    if is_key_finding(row):
        return f"Deactivation is reversible: {keys.undo('it')}"
    riding = len(keys.keys_disabled(row))
    if riding:
        idle = "the idle one" if riding == 1 else "the idle ones"
        return f"Access keys in use keep working; {keys.undo(idle)}"
    return "Access keys keep working."


def status_line(row: FindingView, zone: tzinfo, keys: KeyRules) -> str | None:
    """Where the decision on this finding stands, for its line in the channel and the DM."""
    note = f": {literal(row.decision_note, 500)}" if row.decision_note else ""
    key = is_key_finding(row)
    asked = "Deactivation" if key else "Disable"
    match row.state:
        case State.OPEN:  # a note says why it is open again (a keep ended, a withdrawn request)
            return f":information_source: {note.removeprefix(': ')}" if note else None
        case State.DISABLE_REQUESTED:
            return f":hourglass: {asked} requested by {mention(row.requested_by)}{note}"
        case State.AWAITING_OWNER:
            return (
                f":hourglass: {asked} requested by {mention(row.requested_by)}, "
                f"waiting for {owner_label(row)}"
            )
        case State.OWNER_CONFIRMED | State.DISABLING:
            doing = disable_words(row, keys, zone, whose=False)
            return f":gear: Confirmed by {mention(row.decided_by)}; {doing}"
        case State.DISABLED:
            return _disabled(row, zone, keys)
        case State.KEPT:
            return f":shield: Kept {kept_until(row, zone)} by {mention(row.decided_by)}{note}"
        case State.ABORTED:
            return f":no_entry_sign: Not {'deactivated' if key else 'removed'}{note}"
        case State.FAILED:
            return f":warning: {'Deactivation' if key else 'Removal'} failed{note}"
        case State.RESOLVED:
            return f":heavy_check_mark: Resolved: {literal(row.resolution, 500)}"
        case State.REACTIVATING:
            return f":gear: Turning {_deactivated(row)} back on"
        case State.REACTIVATED:
            stays = "" if key else "; the console password stays removed"
            return f":leftwards_arrow_with_hook: Reactivated {_deactivated(row)}{stays}"
        case State.DELETING_KEYS:
            return f":gear: Deleting {_deactivated(row)}, inactive since {day(row.closed_at, zone)}"
        case State.KEYS_DELETED:
            since = day(row.closed_at, zone)
            return f":wastebasket: Deleted {_deactivated(row)}, inactive since {since}"
    return None


def _disabled(row: FindingView, zone: tzinfo, keys: KeyRules) -> str:
    """The outcome: what was done (or, in a dry run, would be), and until when it is undone.
    A removal is carried out only in the mode it was asked in (bot.application.decisions), so
    that mode says which, whatever DRY_RUN says now."""
    dry_run = bool(row.requested_dry_run)
    by = f"confirmed by {mention(row.decided_by)}"
    if is_key_finding(row):
        if not dry_run and not row.deactivated_keys:  # `keys_left`: it holds none now
            return (
                ":heavy_minus_sign: Access key not deleted: no longer this finding's (turned "
                f"back on in IAM, or deactivated again by a later finding); {by}"
            )
        done = "would be deactivated (dry run)" if dry_run else "deactivated"
        line = f":white_check_mark: Access key {done}; {by}"
    else:
        done = "would be removed (dry run)" if dry_run else "removed"
        count = len(row.deactivated_keys or ())
        also = f" and {counted(count, 'idle access key')} deactivated" if count else ""
        line = f":white_check_mark: Console password {done}{also}; {by}"
    until = keys.reactivate_until(row)
    return line + (f" · *Reactivate* until {day(until, zone)}" if until else "")


def _deactivated(row: FindingView) -> str:
    """The keys the bot deactivated on this finding, as the steps after that name them."""
    count = len(row.deactivated_keys or ())
    return "the access key" if count <= 1 else f"the {count} access keys"


def reactivate_button(row: FindingView, zone: tzinfo) -> ActionsBlock:
    """Reactivate, for a finding whose keys the bot deactivated (offered while
    `KeyRules.reactivatable`): the finding's opaque id only, confirmed first."""
    keys = deactivated_keys(row)
    which = ", ".join(key_name(key, zone, raw) for key in keys)
    user = f"{row.user_name} ({row.account_id})"
    it = "it is" if len(keys) == 1 else "they are"
    text = f"Turn {which} of {user} back on? The bot first checks that {it} still inactive" + (
        "." if is_key_finding(row) else "; the console password stays removed."
    )
    confirm = ConfirmObject(
        title="Reactivate access keys?" if len(keys) > 1 else "Reactivate access key?",
        text=PlainTextObject(text=plain(text, MAX_CONFIRM_TEXT), emoji=False),
        confirm="Reactivate",
        deny="Cancel",
    )
    button = ButtonElement(
        text="Reactivate",
        action_id=ActionId.REACTIVATE,
        value=row.id,
        style="primary",
        confirm=confirm,
    )
    return ActionsBlock(block_id=f"reactivate:{row.id}", elements=[button])


def _moment(value: str | None) -> datetime | None:
    return parse_iso(value) if value else None
