"""What the bot says in Slack: scan results, the digest, owner DMs, and each finding's line kept
current as its decision moves.

Every call here may fail (rate limits beyond retries, a channel the bot left, ...): failures are
logged and audited, never raised into a decision that is already recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from bot.application.edits import EditQueue
from bot.application.posting import FindingsPoster, LeaseCheck, Poster, Posting, no_lease
from bot.application.presence import NOT_IN_CHANNEL, Presence
from bot.application.replies import ResponseUrls
from bot.domain import digest
from bot.domain.clock import Clock
from bot.domain.records import FindingNotes, FindingView, thread_of
from bot.domain.risk import by_risk
from bot.domain.rule import SLACK_USER_ID_PATTERN
from bot.domain.scan import ScanResult
from bot.domain.settings import Settings
from bot.slack.chart import trend_chart
from bot.slack.client import Approvers, slack_error
from bot.slack.messages.blocks import Message, notice
from bot.slack.messages.channel import (
    FINDINGS_PER_MESSAGE,
    ThreadProgress,
    batches,
    escalation,
    findings_message,
    scan_summary,
    unposted_summary,
)
from bot.slack.messages.digest import digest_message
from bot.slack.messages.finding import KeyRules
from bot.slack.messages.owner import owner_dm, owner_reminder
from storage.recording import ScanRecord
from storage.repository import Repository

log = logging.getLogger(__name__)

# Slack's answers to an ephemeral for someone who cannot see the channel: a DM reaches them.
NOT_THERE = NOT_IN_CHANNEL | {"user_not_in_channel"}
# An account with more findings to post than this gets them in its summary's thread, and the
# summary's progress line is brought up to date every PROGRESS_EVERY messages.
THREAD_OVER = FINDINGS_PER_MESSAGE
PROGRESS_EVERY = 5
Summary = Callable[[ThreadProgress | None], Message]


class Announcer:
    def __init__(
        self,
        client: WebClient,
        repository: Repository,
        settings: Settings,
        clock: Clock,
        approvers: Approvers,
    ) -> None:
        self.client = client
        self.repository = repository
        self.settings = settings
        self._clock = clock
        self._approvers = approvers
        self.presence = Presence(repository, clock, settings.slack_channel, self.tell_approvers)
        self._slack = Poster(client, repository, clock, settings.slack_post_interval, self.presence)
        self._findings = FindingsPoster(self._slack, repository, settings, clock)
        self.edits = EditQueue()
        self._response_urls = ResponseUrls()

    def post_scan(
        self, result: ScanResult, record: ScanRecord, lease: LeaseCheck = no_lease
    ) -> Posting:
        """Summary per account, then its new findings and any earlier ones whose message never
        made it and is not in Slack after all (see `_post_account`). `lease` is checked before
        each message. Nothing while the bot is not in the channel: they wait for its
        invitation."""
        if self.presence.paused():
            return Posting(retried=len(record.to_announce), paused=True)
        earlier, posting = self._findings.unposted(besides=record.to_announce)
        waiting = self._by_account(*record.to_announce, *earlier)
        for account in result.accounts:
            account_id = account.target.account_id
            new = [row for row in record.to_announce if row.account_id == account_id]
            summary = partial(scan_summary, account, new, self.dry_run)
            rows = waiting.pop(account_id, [])
            posting += self._post_account(rows, lease, summary, record.scan_id)
        for rows in waiting.values():  # accounts this scan did not cover
            posting += self._post_account(rows, lease, scan_id=record.scan_id)
        return self._noting_pause(posting)

    def post_unposted(self, lease: LeaseCheck = no_lease) -> Posting:
        """Findings whose message never made it (Slack failed, the process died), less those
        found in Slack after all: post them, in the thread they were meant for if they had one.
        `lease` as for `post_scan`. Nothing while the bot is not in the channel."""
        if self.presence.paused():
            return Posting(paused=True)
        unposted, posting = self._findings.unposted()
        for rows in self._by_account(*unposted).values():
            threads: dict[str | None, list[FindingView]] = {}
            for row in rows:
                threads.setdefault(row.slack_thread_ts, []).append(row)
            for thread, in_thread in threads.items():
                if thread is None:
                    posting += self._post_account(in_thread, lease)
                    continue
                done = self._findings.post(in_thread, lease, thread)
                if done.posted:
                    self.announce(f"Posted {done.posted} findings left out earlier.", thread)
                posting += done
        return self._noting_pause(posting)

    def _noting_pause(self, posting: Posting) -> Posting:
        """What was left unposted waits for the bot's invitation, if posting paused meanwhile."""
        if posting.retried and self.presence.paused():
            return replace(posting, paused=True)
        return posting

    def _post_account(
        self,
        rows: list[FindingView],
        lease: LeaseCheck,
        summary: Summary | None = None,
        scan_id: int | None = None,
    ) -> Posting:
        """One account's summary, then its findings in messages of FINDINGS_PER_MESSAGE: below
        it, or, when more than THREAD_OVER, in its thread (the channel stays readable), the
        summary showing how far the posting got. The rows know their thread before anything
        is posted in it, so what is not posted now goes there at the next sweep. Without a
        thread to post in, they are left for the sweep rather than flooded into the channel."""
        channel = self.settings.slack_channel
        lease()
        if len(rows) <= THREAD_OVER:
            if summary:
                self._slack.post(channel, summary(None))
            return self._findings.post(rows, lease, scan_id=scan_id)
        summary = summary or partial(unposted_summary, rows[0].account_id, self.dry_run)
        progress = ThreadProgress(total=len(rows))
        thread = self._slack.post(channel, summary(progress))
        if thread is None or not channel:
            return Posting(retried=len(rows))
        self.repository.note([row.id for row in rows], FindingNotes(slack_thread_ts=thread))
        posting = Posting()
        try:
            for number, batch in enumerate(batches(rows), 1):
                posting += self._findings.post_batch(batch, lease, thread, scan_id)
                if number % PROGRESS_EVERY == 0:
                    progress = replace(progress, posted=posting.posted)
                    self._slack.update(channel, thread, summary(progress))
        finally:  # even when the database failed meanwhile: the summary says where it stopped
            posted, refused = posting.posted, posting.refused
            unposted = len(rows) - posted - refused
            progress = replace(progress, posted=posted, failed=unposted, refused=refused, done=True)
            self._slack.update(channel, thread, summary(progress))
        return posting

    @staticmethod
    def _by_account(*rows: FindingView) -> dict[str, list[FindingView]]:
        """Each account's findings, the riskiest first, each once."""
        unique = {row.id: row for row in rows}.values()
        by_account: dict[str, list[FindingView]] = {}
        for row in sorted(unique, key=by_risk):
            by_account.setdefault(row.account_id, []).append(row)
        return by_account

    def post_digest(self) -> str | None:
        """The digest message, then the trend chart in its thread when the token may upload."""
        now = self._clock()
        since = digest.week_start(now, self.settings.timezone)
        trend_start = now - timedelta(weeks=digest.WEEKS_OF_TREND)
        findings, actions, failures = self.repository.digest_inputs(since, trend_start)
        facts = digest.summarize(now, findings, actions, failures, since)
        channel = self.settings.slack_channel
        ts = self._slack.post(channel, digest_message(facts, self.settings.timezone, self.dry_run))
        if ts:
            try:
                self.client.files_upload_v2(
                    channel=channel,
                    thread_ts=ts,
                    file=trend_chart(facts.trend),
                    filename="open-findings-by-week.png",
                    title="Open findings, week by week",
                )
            except (SlackClientError, OSError) as error:  # no files:write: the text trend stands
                log.info("digest chart not uploaded: %s", slack_error(error))
        return ts

    def refresh(self, finding: FindingView, *, dm: bool = True) -> None:
        """Re-render the channel message holding this finding, and (`dm`) the owner's DM."""
        if finding.slack_channel and finding.slack_ts:
            self._redraw(finding.slack_channel, finding.slack_ts)
        if dm and finding.dm_channel and finding.dm_ts:
            self._redraw_dm(finding)

    def refresh_later(self, findings: Iterable[FindingView]) -> None:
        """Re-render these findings' messages and DMs in the background (`self.edits`): each
        message once, however many of its findings changed."""
        edits: dict[tuple[str, str], Callable[[], bool]] = {}
        for finding in findings:
            if finding.slack_channel and finding.slack_ts:
                message = (finding.slack_channel, finding.slack_ts)
                edits[message] = partial(self._redraw, *message)
            if finding.dm_channel and finding.dm_ts:
                edits[(finding.dm_channel, finding.dm_ts)] = partial(self._redraw_dm_of, finding.id)
        self.edits.put(edits)

    def _redraw(self, channel: str, ts: str) -> bool:
        rows = self.repository.findings_in_message(channel, ts)
        message = findings_message(rows, self.settings.timezone, self.dry_run, keys=self._keys())
        return self._slack.update(channel, ts, message)

    def _redraw_dm(self, finding: FindingView) -> bool:
        message = owner_dm(finding, self.settings.timezone, self.dry_run, self._keys())
        return self._slack.update(finding.dm_channel or "", finding.dm_ts or "", message)

    def _redraw_dm_of(self, finding_id: str) -> bool:
        finding = self.repository.finding(finding_id)
        return finding is None or self._redraw_dm(finding)

    def dm_owner(self, finding: FindingView) -> bool:
        """Open a DM with the owner and ask; False when Slack would not let us."""
        try:
            channel = self.client.conversations_open(users=finding.owner_slack_id)["channel"]["id"]
        except (SlackClientError, OSError) as error:
            log.warning("cannot open a DM with %s: %s", finding.owner_slack_id, slack_error(error))
            return False
        message = owner_dm(finding, self.settings.timezone, self.dry_run, self._keys())
        ts = self._slack.post(channel, message)
        if ts:
            # The owner's wait counts from now: a DM that first arrives with the reminder gives
            # them the whole time before the approvers, or AUTO_DISABLE_AFTER_DAYS, step in.
            arrived = FindingNotes(dm_channel=channel, dm_ts=ts, asked_at=self._clock())
            self.repository.note([finding.id], arrived)
        return ts is not None

    def remind_owner(self, finding: FindingView) -> None:
        """A reminder in the DM's thread; or, if the first DM never arrived, the DM itself."""
        if not finding.dm_channel:
            self.dm_owner(finding)
            return
        reminder = owner_reminder(finding, self.settings.timezone)
        self._slack.post(finding.dm_channel, reminder, thread_ts=finding.dm_ts)

    def escalate(self, finding: FindingView) -> None:
        waited = (self._clock() - finding.asked_at).days if finding.asked_at else 0
        message = escalation(finding, waited, self.settings.timezone)
        # In a large scan's thread, the channel sees it too: the approvers must.
        threaded = finding.slack_thread_ts is not None
        self._slack.post(
            self.settings.slack_channel, message, thread_of(finding), broadcast=threaded
        )
        self.refresh(finding)

    def settled(self, finding: FindingView, summary: str, *, prefix: str = "") -> None:
        """A decision reached its end: the finding's line and DM show it, and its thread says so."""
        self.refresh(finding)
        self.announce(f"{prefix}{summary}", thread_ts=thread_of(finding))

    def tell_outcome(self, finding: FindingView, text: str) -> None:
        """The outcome, where each person is: the approvers who asked and decided, privately in
        the findings channel; the owner in their DM (its message is updated by `refresh`), as a
        reply under the question they were asked."""
        owner = finding.owner_slack_id
        approvers = {finding.requested_by, finding.decided_by} - {None, owner}
        people = sorted(p for p in approvers if p and SLACK_USER_ID_PATTERN.fullmatch(p))
        for person in people:  # not the bot's own actors ("scheduler", ...)
            self.tell(finding.slack_channel, person, text, thread_ts=thread_of(finding))
        if not owner:
            return
        if finding.dm_channel and finding.dm_ts:
            self._slack.post(finding.dm_channel, notice(text), thread_ts=finding.dm_ts)
        else:
            self.tell(None, owner, text)

    def tell(
        self, channel: str | None, user_id: str, text: str, thread_ts: str | None = None
    ) -> None:
        """A private line for one person: an ephemeral in `channel` (in the thread of
        `thread_ts` when it has replies), or a DM when there is no channel, it is a DM, or Slack
        says the person is not in it."""
        message = notice(text)
        try:
            if channel and not channel.startswith("D"):
                try:
                    self.client.chat_postEphemeral(
                        channel=channel,
                        user=user_id,
                        text=message.text,
                        blocks=message.blocks,
                        thread_ts=self._active_thread(channel, thread_ts),
                    )
                    return
                except SlackApiError as error:
                    if error.response.get("error") not in NOT_THERE:
                        raise
            self.client.chat_postMessage(channel=user_id, text=message.text, blocks=message.blocks)
        except (SlackClientError, OSError) as error:
            log.warning("could not tell %s %r: %s", user_id, text, slack_error(error))

    def _active_thread(self, channel: str, thread_ts: str | None) -> str | None:
        """`thread_ts` when its thread has replies, else None (the channel itself): Slack shows
        an ephemeral in a thread only when the thread is already active, and otherwise takes
        it and shows it to nobody (https://api.slack.com/methods/chat.postEphemeral)."""
        if not thread_ts:
            return None
        try:
            # Tier 3 (the lower limits of 2025 are for apps distributed outside the Marketplace,
            # not an organization's own app).
            answer = self.client.conversations_replies(channel=channel, ts=thread_ts, limit=1)
        except (SlackClientError, OSError) as error:  # the channel always shows it
            log.info("thread %s not read (%s): telling in the channel", thread_ts, error)
            return None
        parent = (answer.get("messages") or [{}])[0]
        return thread_ts if parent.get("reply_count") else None

    def tell_approvers(self, text: str) -> None:
        """A DM to every approver (the listed ones, and the group's members Slack can say)."""
        for person in sorted(self._approvers.everyone()):
            self.tell(None, person, text)

    def respond(
        self,
        response_url: str | None,
        user_id: str,
        text: str,
        *,
        issued_at: datetime,
        used_before: int = 0,
    ) -> None:
        """A line for the person where they asked (a command's response URL, handed out at
        `issued_at` and used `used_before` times by another process); by DM once it is too old
        or used up to be sure Slack takes it (`bot.application.replies`), or when Slack refuses
        it (`expired_url`, `used_url`: JSON with ok false)."""
        now = self._clock()
        if response_url and self._response_urls.take(response_url, issued_at, now, used_before):
            message = notice(text)
            try:
                answer = WebhookClient(response_url, timeout=15).send(
                    text=message.text, blocks=message.blocks
                )
                if answer.status_code == 200 and '"ok":false' not in answer.body.replace(" ", ""):
                    return
                log.info("response URL refused (%s): telling %s by DM", answer.body, user_id)
            except (SlackClientError, OSError) as error:
                log.info("response URL failed (%s): telling %s by DM", slack_error(error), user_id)
        self.tell(None, user_id, text)

    def announce(self, text: str, thread_ts: str | None = None) -> None:
        self._slack.post(self.settings.slack_channel, notice(text), thread_ts=thread_ts)

    @property
    def dry_run(self) -> bool:
        return self.settings.dry_run

    def _keys(self) -> KeyRules:
        """What may be done to access keys as a message is drawn now (its buttons' words)."""
        return KeyRules.of(self.settings, self._clock())
