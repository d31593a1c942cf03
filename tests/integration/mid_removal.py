"""A removal interrupted as a machine going down interrupts it: the bot's processes serve, an
owner confirms, and SIGKILL comes while the AWS proxy holds the removal's call."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.domain.workflow import State
from bot.slack.ids import ActionId
from storage import models
from storage.db import make_engine
from storage.repository import Repository
from tests.integration.conftest import left_stuck
from tests.support.bot_harness import (
    APPROVER,
    CHANNEL,
    OWNER,
    SECRET,
    click_payload,
    command_body,
    interaction_body,
)
from tests.support.processes import (
    AwsProxy,
    bot_env,
    free_port,
    healthy,
    signed_post,
    slack_settings,
    start,
    stop,
    wait_for,
)
from tests.support.slack_standin import SlackStandIn


def confirmed_with_removal_held(
    port: int, standin: SlackStandIn, repository: Repository, proxy: AwsProxy
) -> tuple[models.Finding, Callable[[str, str, str], int]]:
    """Once the bot serves: a scan, Disable, and the owner's Confirm, whose removal call
    (DeleteLoginProfile, or the action the proxy holds) the proxy holds. The finding, and a way
    to click its buttons."""
    wait_for(lambda: healthy(port), what="the bot to serve")
    assert signed_post(port, command_body("scan", APPROVER, standin.response_url()), SECRET) == 200
    try:
        finding = wait_for(lambda: repository.open_findings(), what="the scan")[0]
    except AssertionError:
        answers = [c.params.get("text") for c in standin.named("response/respond")]
        raise AssertionError(f"no findings; the scan command was answered {answers}") from None

    def click(action: str, user: str, channel: str) -> int:
        payload = click_payload(action, finding.id, user, channel, standin.response_url())
        return signed_post(port, interaction_body(payload), SECRET)

    click(ActionId.DISABLE, APPROVER, CHANNEL)
    wait_for(lambda: repository.finding(finding.id).state == State.AWAITING_OWNER)
    proxy.hold.set()
    click(ActionId.OWNER_CONFIRM, OWNER, "D0OWNER")
    assert proxy.held.wait(60), "the removal's call was never sent"
    return finding, click


@dataclass
class KilledMidRemoval:
    """The web and scanner processes, killed by SIGKILL while the proxy held a removal's call."""

    finding: models.Finding
    repository: Repository
    proxy: AwsProxy
    port: int
    env: dict[str, str]
    log: Path
    scanner_log: Path

    @contextmanager
    def restarted(self) -> Iterator[None]:
        """Both started again as if STUCK_AFTER_SECONDS (600) later; yields once the bot serves
        and the removal is settled, then stops them and the proxy."""
        left_stuck(self.repository, self.finding.id)
        processes = [
            start(["run"], self.env, self.log),
            start(["scanner"], self.env, self.scanner_log),
        ]
        try:
            wait_for(lambda: healthy(self.port), what="the restarted bot")
            wait_for(
                lambda: self.repository.finding(self.finding.id).state == State.DISABLED,
                what="recovery",
            )
            yield
        finally:
            for process in processes:
                stop(process)
            self.proxy.stop()


def killed_mid_removal(
    standin: SlackStandIn, aws_url: str, tmp_path: Path, held_action: str = "DeleteLoginProfile"
) -> KilledMidRemoval:
    """Both processes serve; a scan, Disable and the owner's Confirm; then, while the proxy
    holds the removal's call (`held_action`), the whole machine goes down. The call never
    reaches AWS."""
    database_url = f"sqlite:///{tmp_path / 'bot.db'}"
    proxy = AwsProxy(aws_url, held_action=held_action)
    port = free_port()
    # The scan may still be posting when the machine goes down: the restarted scanner's
    # start-up sweep waits for its lease to lapse.
    env = bot_env(
        proxy.url,
        **slack_settings(standin, database_url),
        PORT=str(port),
        SCAN_LEASE_SECONDS="4",
    )
    repository = Repository(make_engine(database_url))
    log, scanner_log = tmp_path / "bot.log", tmp_path / "scanner.log"
    processes = [start(["run"], env, log), start(["scanner"], env, scanner_log)]
    try:
        finding, _click = confirmed_with_removal_held(port, standin, repository, proxy)
        assert repository.finding(finding.id).state == State.DISABLING
    finally:
        for process in processes:
            stop(process, signal.SIGKILL)
    proxy.hold.clear()
    return KilledMidRemoval(finding, repository, proxy, port, env, log, scanner_log)
