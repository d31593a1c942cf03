"""What the bot does on its own: scheduled scans, the weekly digest, owner follow-ups, and
settling removals a crash interrupted. Each job returns a one-line outcome for the job record.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.cron import parse_cron
from bot.scanner import ScanResult, run_scan
from bot.scheduler import Schedule
from bot.workflow import AUTO_DISABLE, ESCALATE, REMIND, State, TransitionError, follow_up

if TYPE_CHECKING:
    from bot.app import Services
    from storage.repository import ScanRecord

log = logging.getLogger(__name__)

SCHEDULER = "scheduler"


def scan_and_announce(
    services: Services, trigger: str, only_account: str | None = None
) -> tuple[ScanResult, ScanRecord]:
    """Scan, record, post what is new, and update the lines of findings that closed."""
    result, record = run_scan(
        services.settings,
        services.repository,
        services.aws_session,
        trigger=trigger,
        only_account=only_account,
    )
    services.announcer.post_scan(result, record)
    for finding in record.resolved:  # their lines say why they closed
        services.announcer.refresh(finding)
    return result, record


def scan_job(services: Services) -> str:
    result, record = scan_and_announce(services, "schedule")
    return (
        f"{len(record.to_announce)} new, {len(record.resolved)} resolved, "
        f"{len(result.failed_accounts)} accounts failed"
    )


def digest_job(services: Services) -> str:
    return "posted" if services.announcer.post_digest() else "not posted"


def follow_up_job(services: Services) -> str:
    """One reminder, then escalation to the approvers, then (if configured) the removal."""
    settings, announcer = services.settings, services.announcer
    done = {REMIND: 0, ESCALATE: 0, AUTO_DISABLE: 0}
    for finding in services.repository.findings_in_state(State.AWAITING_OWNER):
        now = services.now()
        step = follow_up(
            finding.asked_at,
            finding.reminded_at,
            finding.escalated_at,
            now,
            reminder_days=settings.reminder_days,
            escalate_days=settings.escalate_days,
            auto_disable_days=settings.auto_disable_days,
        )
        if step == REMIND:
            announcer.remind_owner(finding)
            services.repository.note(finding.id, reminded_at=now)
        elif step == ESCALATE:
            services.repository.note(finding.id, escalated_at=now)
            announcer.escalate(services.repository.finding(finding.id))
        elif step == AUTO_DISABLE:
            days = settings.auto_disable_days
            try:
                removal = services.decisions.confirm_and_remove(
                    finding.id,
                    SCHEDULER,
                    "schedule",
                    by_owner=False,
                    owner_unanswered=True,
                    why=f"no answer for {days} days (AUTO_DISABLE_AFTER_DAYS)",
                )
            except TransitionError as error:
                log.info("auto-disable of %s skipped: %s", finding.id, error)
                continue
            announcer.refresh(removal.finding)
            announcer.announce(removal.summary, thread_ts=removal.finding.slack_ts)
        else:
            continue
        services.repository.record_event(
            finding.id, actor=SCHEDULER, surface="schedule", action=step, at=now
        )
        done[step] += 1
    return ", ".join(f"{count} {step}" for step, count in done.items())


def settle_in_flight(services: Services) -> int:
    """At start-up: finish removals a crash interrupted, and show the outcome."""
    settled = services.decisions.settle_in_flight()
    for removal in settled:
        services.announcer.refresh(removal.finding)
        services.announcer.announce(
            f"After a restart: {removal.summary}", thread_ts=removal.finding.slack_ts
        )
    return len(settled)


def build_schedule(services: Services, *, blocking: bool = False) -> Schedule:
    settings = services.settings
    zone = settings.timezone
    jobs = {
        "scan": (parse_cron(settings.scan_cron, zone), lambda: scan_job(services)),
        "digest": (parse_cron(settings.digest_cron, zone), lambda: digest_job(services)),
        "follow_up": (parse_cron(settings.reminder_cron, zone), lambda: follow_up_job(services)),
    }
    return Schedule(jobs, services.repository, zone, services.now, blocking=blocking)
