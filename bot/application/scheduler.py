"""Scheduled jobs (scan, digest, reminders) with APScheduler 3 cron triggers, run exactly once
per fire time across replicas.

Every replica runs the same schedule. Before running a fire time, a replica inserts a claim row
keyed by (job, fire time); the unique key lets exactly one insert land, and only that replica runs
the job. A replica that dies mid-job leaves its claim behind, which blocks nothing: the next fire
time is a new key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import tzinfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.application.scans import replica_name
from bot.domain.clock import Clock
from bot.domain.cron import latest_fire_time
from bot.domain.records import RecordsUnavailable
from storage.repository import Repository

log = logging.getLogger(__name__)

MISFIRE_GRACE_SECONDS = 300


class ClaimedJob:
    """Wraps a job function so that only the replica whose claim lands runs a fire time."""

    def __init__(
        self,
        name: str,
        trigger: CronTrigger,
        work: Callable[[], str | None],
        repository: Repository,
        clock: Clock,
    ) -> None:
        self.name, self.trigger, self.work = name, trigger, work
        self.repository, self.clock = repository, clock

    def __call__(self) -> None:
        try:
            self._run()
        except RecordsUnavailable as error:  # an outage, not a bug: the next fire time runs
            log.warning("job %s stopped: the database is unavailable (%s)", self.name, error)

    def _run(self) -> None:
        now = self.clock()
        fire_time = latest_fire_time(self.trigger, now)
        if fire_time is None:
            return
        if not self.repository.claim_job(self.name, fire_time, replica_name(), now):
            log.info("job %s at %s runs on another replica", self.name, fire_time.isoformat())
            return
        log.info("job %s at %s starts", self.name, fire_time.isoformat())
        try:
            outcome = self.work() or "ok"
        except RecordsUnavailable:
            raise
        except Exception as error:  # a failed run is recorded; the next fire time still runs
            log.exception("job %s failed", self.name)
            outcome = f"failed: {type(error).__name__}: {error}"
        self.repository.finish_job(self.name, fire_time, self.clock(), outcome)


class Schedule:
    """The bot's jobs on one APScheduler instance."""

    def __init__(
        self,
        jobs: Mapping[str, tuple[CronTrigger, Callable[[], str | None]]],
        repository: Repository,
        zone: tzinfo,
        clock: Clock,
    ) -> None:
        self.scheduler = BackgroundScheduler(timezone=zone)
        for name, (trigger, work) in jobs.items():
            self.scheduler.add_job(
                ClaimedJob(name, trigger, work, repository, clock),
                trigger,
                id=name,
                name=name,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=MISFIRE_GRACE_SECONDS,
            )

    @property
    def running(self) -> bool:
        running: bool = self.scheduler.running  # apscheduler is untyped
        return running

    def next_runs(self) -> dict[str, str | None]:
        return {
            job.id: job.next_run_time.isoformat() if job.next_run_time else None
            for job in self.scheduler.get_jobs()
        }

    def start(self) -> None:
        """Runs the jobs in the background of this process."""
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.shutdown(wait=False)
