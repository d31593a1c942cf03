"""The bot's side of the Slack Web API: clients, approvers, owners, and keeping messages current.

Every call here may fail (rate limits beyond retries, a channel the bot left, ...): failures are
logged and audited, never raised into a decision that is already recorded.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot import digest, messages
from bot.rule import EMAIL_PATTERN, SLACK_USER_ID_PATTERN
from bot.scanner import ScanResult
from bot.settings import Settings
from storage.models import Finding
from storage.repository import Repository, ScanRecord

log = logging.getLogger(__name__)

APPROVER_GROUP_TTL = 300.0


def make_client(settings: Settings) -> WebClient:
    """A WebClient that waits out HTTP 429 (Retry-After) and honours SLACK_API_URL."""
    extra = {"base_url": settings.slack_api_url} if settings.slack_api_url else {}
    client = WebClient(token=settings.slack_bot_token, timeout=15, **extra)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    return client


def slack_error(error: SlackClientError) -> str:
    if isinstance(error, SlackApiError):
        return f"Slack answered {error.response.get('error', 'an error')}"
    return f"Slack could not be reached ({type(error).__name__})"


class Approvers:
    """Who may press channel buttons: listed user ids, and members of one user group."""

    def __init__(
        self, settings: Settings, client: WebClient, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._users = settings.slack_approvers
        self._group = settings.slack_approver_group
        self._client = client
        self._clock = clock
        self._lock = threading.Lock()
        self._members: frozenset[str] = frozenset()
        self._fetched_at: float | None = None

    @property
    def configured(self) -> bool:
        return bool(self._users or self._group)

    def allows(self, user_id: str) -> bool:
        return user_id in self._users or user_id in self._group_members()

    def _group_members(self) -> frozenset[str]:
        if not self._group:
            return frozenset()
        with self._lock:
            fresh = (
                self._fetched_at is not None
                and self._clock() - self._fetched_at < APPROVER_GROUP_TTL
            )
            if not fresh:
                try:
                    answer = self._client.usergroups_users_list(usergroup=self._group)
                    self._members = frozenset(answer.get("users", []))
                    self._fetched_at = self._clock()
                except SlackClientError as error:
                    # Keep the last known members; with none known, nobody from the group passes.
                    log.warning("approver group lookup failed: %s", slack_error(error))
            return self._members


@dataclass(frozen=True)
class OwnerContact:
    slack_id: str | None
    reachable: bool  # an active Slack account the bot can DM
    why_not: str | None = None  # for the record when the approver's word is final


def resolve_owner(client: WebClient, owner: str | None) -> OwnerContact:
    """The owner's Slack account from the tag value (a Slack user id or an email)."""
    if not owner:
        return OwnerContact(None, False, "The owner of this IAM user is unknown")
    try:
        if SLACK_USER_ID_PATTERN.match(owner):
            user = client.users_info(user=owner)["user"]
        elif EMAIL_PATTERN.match(owner):
            user = client.users_lookupByEmail(email=owner)["user"]
        else:
            return OwnerContact(None, False, f"The owner {owner} is not a Slack user")
    except SlackApiError as error:
        if error.response.get("error") in ("users_not_found", "user_not_found"):
            return OwnerContact(None, False, f"The owner {owner} has no Slack account")
        raise
    if user.get("deleted"):
        return OwnerContact(user["id"], False, f"The owner <@{user['id']}> has left (deactivated)")
    return OwnerContact(user["id"], True)


class Announcer:
    """Posts scan results and keeps each finding's channel line and DM up to date."""

    def __init__(self, client: WebClient, repository: Repository, settings: Settings) -> None:
        self.client = client
        self.repository = repository
        self.settings = settings

    def post_scan(self, result: ScanResult, record: ScanRecord) -> None:
        """Summary per account, then new findings in batches of FINDINGS_PER_MESSAGE."""
        channel = self.settings.slack_channel
        by_account: dict[str, list[Finding]] = {}
        for row in sorted(record.to_announce, key=lambda r: (r.account_id, r.user_name)):
            by_account.setdefault(row.account_id, []).append(row)
        for account in result.accounts:
            new = by_account.get(account.target.account_id, [])
            summary = messages.scan_summary(account, new, self.settings.dry_run)
            self._post(channel, summary)
            for batch in messages.batches(new):
                ts = self._post(
                    channel,
                    messages.findings_message(batch, self.settings.timezone, self.settings.dry_run),
                )
                if ts:
                    self.repository.place_in_channel([row.id for row in batch], channel, ts)

    def post_digest(self) -> str | None:
        """The digest message, then the trend chart in its thread when the token may upload."""
        now = datetime.now(UTC)
        trend_start = now - timedelta(weeks=digest.WEEKS_OF_TREND)
        findings, actions, failures = self.repository.digest_inputs(
            now - timedelta(days=7), trend_start
        )
        facts = digest.summarize(now, findings, actions, failures)
        channel = self.settings.slack_channel
        ts = self._post(
            channel, messages.digest_message(facts, self.settings.timezone, self.settings.dry_run)
        )
        if ts:
            try:
                self.client.files_upload_v2(
                    channel=channel,
                    thread_ts=ts,
                    file=digest.trend_chart(facts.trend),
                    filename="open-findings-by-week.png",
                    title="Open findings, week by week",
                )
            except SlackClientError as error:  # e.g. missing files:write: the text trend stands
                log.info("digest chart not uploaded: %s", slack_error(error))
        return ts

    def refresh(self, finding: Finding) -> None:
        """Re-render the channel message holding this finding, and the owner's DM."""
        zone, dry_run = self.settings.timezone, self.settings.dry_run
        if finding.slack_channel and finding.slack_ts:
            rows = self.repository.findings_in_message(finding.slack_channel, finding.slack_ts)
            self._update(
                finding.slack_channel,
                finding.slack_ts,
                messages.findings_message(rows, zone, dry_run),
            )
        if finding.dm_channel and finding.dm_ts:
            self._update(
                finding.dm_channel, finding.dm_ts, messages.owner_dm(finding, zone, dry_run)
            )

    def dm_owner(self, finding: Finding) -> bool:
        """Open a DM with the owner and ask; False when Slack would not let us."""
        try:
            channel = self.client.conversations_open(users=finding.owner_slack_id)["channel"]["id"]
        except SlackClientError as error:
            log.warning("cannot open a DM with %s: %s", finding.owner_slack_id, slack_error(error))
            return False
        message = messages.owner_dm(finding, self.settings.timezone, self.settings.dry_run)
        ts = self._post(channel, message)
        if ts:
            self.repository.note(finding.id, dm_channel=channel, dm_ts=ts)
        return ts is not None

    def remind_owner(self, finding: Finding) -> None:
        """A reminder in the DM's thread; or, if the first DM never arrived, the DM itself."""
        if not finding.dm_channel:
            self.dm_owner(finding)
            return
        message = messages.owner_reminder(finding, self.settings.timezone)
        self._post(finding.dm_channel, message, thread_ts=finding.dm_ts)

    def escalate(self, finding: Finding) -> None:
        waited = (datetime.now(UTC) - finding.asked_at).days if finding.asked_at else 0
        self._post(
            self.settings.slack_channel,
            messages.escalation(finding, waited),
            thread_ts=finding.slack_ts,
        )
        self.refresh(finding)

    def tell(
        self, channel: str | None, user_id: str, text: str, thread_ts: str | None = None
    ) -> None:
        """An ephemeral line for one person, falling back to a DM (for example in a DM channel)."""
        message = messages.notice(text)
        try:
            if channel and not channel.startswith("D"):
                self.client.chat_postEphemeral(
                    channel=channel,
                    user=user_id,
                    text=message.text,
                    blocks=message.blocks,
                    thread_ts=thread_ts,
                )
            else:
                self.client.chat_postMessage(
                    channel=user_id, text=message.text, blocks=message.blocks
                )
        except SlackClientError as error:
            log.warning("could not tell %s %r: %s", user_id, text, slack_error(error))

    def announce(self, text: str, thread_ts: str | None = None) -> None:
        self._post(self.settings.slack_channel, messages.notice(text), thread_ts=thread_ts)

    def _post(
        self, channel: str | None, message: messages.Message, thread_ts: str | None = None
    ) -> str | None:
        try:
            answer = self.client.chat_postMessage(
                channel=channel, text=message.text, blocks=message.blocks, thread_ts=thread_ts
            )
            return answer["ts"]
        except SlackClientError as error:
            log.warning("chat.postMessage to %s failed: %s", channel, slack_error(error))
            self.repository.record_event(
                None,
                actor="bot",
                surface="slack",
                action="post_failed",
                at=datetime.now(UTC),
                reason=slack_error(error),
                details={"channel": channel, "text": message.text[:200]},
            )
            return None

    def _update(self, channel: str, ts: str, message: messages.Message) -> None:
        try:
            self.client.chat_update(
                channel=channel, ts=ts, text=message.text, blocks=message.blocks
            )
        except SlackClientError as error:
            log.warning("chat.update of %s/%s failed: %s", channel, ts, slack_error(error))
