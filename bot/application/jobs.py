"""What the bot does on its own, in the scanner process: scheduled scans, the weekly digest,
owner follow-ups, and settling removals a crash interrupted. Each job returns a one-line outcome
for the job record.
"""

from __future__ import annotations

import logging
import threading

from bot.application.consent import after_removal
from bot.application.posting import Posting
from bot.application.scan_queue import SCHEDULE, ask_for_scan
from bot.application.scans import SWEEP, ScanRunning, scan_lease, started_by
from bot.application.scheduler import Schedule
from bot.application.services import Services
from bot.domain.cron import parse_cron
from bot.domain.deadlines import follow_up
from bot.domain.records import Actor, FindingNotes, LeaseLost, Role, Surface, SystemActor
from bot.domain.workflow import FOLLOWED_UP, AuditAction, Intent, TransitionError

log = logging.getLogger(__name__)

SCHEDULER = Actor(SystemActor.SCHEDULER, Role.SCHEDULER, Surface.SCHEDULE)
SWEEP_CRON = "*/5 * * * *"
FOLLOW_UPS = (AuditAction.REMIND, AuditAction.ESCALATE, AuditAction.AUTO_DISABLE)


def scan_job(services: Services) -> str:
    """The scheduled scan is a request like anyone's: the scanner runs it (scan_queue)."""
    request = ask_for_scan(services, SCHEDULE, Surface.SCHEDULE, None)
    return f"queued as scan request {request}"


def digest_job(services: Services) -> str:
    return "posted" if services.announcer.post_digest() else "not posted"


def follow_up_job(services: Services) -> str:
    """One reminder, then escalation to the approvers, then (if configured) the removal."""
    settings, announcer, repository = services.settings, services.announcer, services.repository
    done = dict.fromkeys(FOLLOW_UPS, 0)
    for finding in repository.findings_in_state(FOLLOWED_UP):
        now = services.clock()
        step = follow_up(
            finding.asked_at,
            finding.reminded_at,
            finding.escalated_at,
            now,
            reminder_days=settings.reminder_days,
            escalate_days=settings.escalate_days,
            auto_disable_days=settings.auto_disable_days,
            owner_reached=finding.dm_ts is not None,
        )
        try:
            if step == AuditAction.REMIND:
                announcer.remind_owner(finding)
                repository.note([finding.id], FindingNotes(reminded_at=now))
                repository.record_event(finding.id, step, SCHEDULER, at=now)
            elif step == AuditAction.ESCALATE:
                escalated = services.decisions.escalate(
                    finding.id, SCHEDULER, seen_step=finding.state_changed_at
                )
                announcer.escalate(escalated)
            elif step == AuditAction.AUTO_DISABLE:
                why = f"no answer for {settings.auto_disable_days} days (AUTO_DISABLE_AFTER_DAYS)"
                removal = services.decisions.confirm_and_remove(
                    finding.id,
                    Intent.AUTO_CONFIRM,
                    SCHEDULER,
                    why,
                    seen_step=finding.state_changed_at,
                )
                after_removal(services, removal)
                repository.record_event(finding.id, step, SCHEDULER, at=now)
            else:
                continue
        except TransitionError as error:  # someone decided meanwhile
            log.info("%s of %s skipped: %s", step, finding.id, error)
            continue
        done[step] += 1
    return ", ".join(f"{count} {step}" for step, count in done.items())


def key_deletion_job(services: Services) -> str:
    """KEY_DELETE_AFTER_DAYS: the keys of removals nobody reactivated are deleted, and the
    people involved told."""
    done = services.decisions.keys.delete_expired_keys(SCHEDULER)
    for removal in done:
        after_removal(services, removal)
    return f"keys of {len(done)} findings deleted or tried"


def sweep_job(services: Services, stop: threading.Event | None = None) -> str:
    """Findings left in a transient state are moved on, and the people concerned told. Posting
    what was left unposted waits for the scan lease: for a scan whose process died, until its
    lease lapses (a live scan posts them itself). `stop` ends that wait."""
    moved = services.decisions.sweep()
    for removal in moved:
        after_removal(services, removal, prefix="Picked up again: ")
    try:  # not while a scan is posting the same findings
        posting = post_waiting(services, stop=stop)
    except ScanRunning as running:  # a terminal's scan posts nothing: the next sweep does
        who = started_by(running.holder.holder)
        return f"{len(moved)} moved on; posting left to the running scan ({who}) or the next sweep"
    except LeaseLost as error:
        return f"{len(moved)} moved on; posting stopped: {error}"
    return (
        f"{len(moved)} moved on, "
        + (f"{posting.found} found already in Slack, " if posting.found else "")
        + (f"{posting.refused} refused by Slack, " if posting.refused else "")
        + f"{posting.posted} posted, {posting.retried} still unposted"
    )


def post_waiting(
    services: Services, *, patient: bool = True, stop: threading.Event | None = None
) -> Posting:
    """Findings whose message never made it, posted now under the scan lease: not while a scan
    posts them (ScanRunning). `patient`: a holder that stopped renewing is waited for until its
    lease lapses (or `stop`); LeaseLost when the lease is lost meanwhile."""
    with scan_lease(
        services.repository,
        services.clock,
        SWEEP,
        lease_time=services.settings.scan_lease_time,
        patient=patient,
        stop=stop,
    ) as lease:
        return services.announcer.post_unposted(lease.check)


def bot_invited(services: Services, channel: str | None) -> None:
    """The bot joined `channel`: if posting there was paused, it resumes at once (what a scan
    holds the lease for is posted by that scan, or by the next sweep)."""
    if channel != services.settings.slack_channel or not services.announcer.presence.resumed():
        return
    try:
        posted = post_waiting(services, patient=False)
    except (ScanRunning, LeaseLost) as error:
        log.info("invited to %s: the scan or the next sweep posts what waited (%s)", channel, error)
        return
    log.info("invited to %s: posting what waited: %s", channel, posted)


def start_schedule(services: Services, stop: threading.Event | None = None) -> Schedule:
    """Move on what a crash left half-done, then run the scheduled jobs in the background.
    Nothing here may stop the scanner from starting: every replica does this at once. `stop`
    (the process is stopping) ends the sweeps' wait for the scan lease."""
    try:
        log.info("start-up sweep: %s", sweep_job(services, stop))
    except Exception:
        log.exception("start-up sweep failed; the scheduled sweep tries again")
    schedule = build_schedule(services, stop)
    schedule.start()
    return schedule


def build_schedule(services: Services, stop: threading.Event | None = None) -> Schedule:
    settings = services.settings
    zone = settings.timezone
    jobs = {
        "scan": (parse_cron(settings.scan_cron, zone), lambda: scan_job(services)),
        "digest": (parse_cron(settings.digest_cron, zone), lambda: digest_job(services)),
        "follow_up": (parse_cron(settings.reminder_cron, zone), lambda: follow_up_job(services)),
        "sweep": (parse_cron(SWEEP_CRON, zone), lambda: sweep_job(services, stop)),
    }
    if settings.key_delete_after_days is not None:
        deletion = parse_cron(settings.reminder_cron, zone)
        jobs["key_deletion"] = (deletion, lambda: key_deletion_job(services))
    return Schedule(jobs, services.repository, zone, services.clock)
