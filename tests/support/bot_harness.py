"""The whole bot behind its production HTTP adapter, driven with signed Slack requests.

Requests go through Flask's test client into Bolt's Flask adapter, exactly the path gunicorn
serves; the bot's WebClient talks to a SlackStandIn over HTTP; AWS is moto; storage a SQLite file.
"""

from __future__ import annotations

import json
import time
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import boto3
from flask.testing import FlaskClient
from slack_sdk.signature import SignatureVerifier

from bot.application.scan_queue import Scanner
from bot.application.services import Services
from bot.domain.clock import utc_now
from bot.domain.records import RecordsUnavailable
from bot.domain.rule import DORMANT, Candidate, UserCredentials
from bot.domain.scan import AccountScan, AccountTarget, ScanResult
from bot.domain.settings import Settings
from bot.entry.bootstrap import build_app, build_scanner, build_services
from bot.entry.web import create_flask
from bot.slack.ids import COMMAND, BlockId, CallbackId, InputId
from storage.models import Finding
from storage.repository import Repository
from tests.support.slack_standin import SlackStandIn, fresh_trigger

SECRET = "test-signing-secret"
CHANNEL = "C0FINDINGS"
APPROVER = "U0APPROVER"
OWNER = "U0OWNER"
STRANGER = "U0STRANGER"


def idle_scan(accounts: dict[str, int], now: datetime, cleared: int = 0) -> ScanResult:
    """A scan that found `count` idle console passwords in each account, and `cleared` more
    users there that are not findings (no AWS needed)."""
    scans = []
    for account_id, count in accounts.items():
        candidates = [
            Candidate(
                UserCredentials(
                    account_id=account_id,
                    user_name=f"idle-{number:05d}",
                    arn=f"arn:aws:iam::{account_id}:user/idle-{number:05d}",
                    created=now - timedelta(days=400),
                    has_password=True,
                    password_last_used=now - timedelta(days=200),
                    password_last_changed=None,
                    user_id=f"AIDA{account_id}{number:05d}",
                ),
                DORMANT,
                fully_inactive=True,
                days_idle=200,
            )
            for number in range(count)
        ]
        reasons = {f"busy-{number:05d}": "used recently" for number in range(cleared)}
        scans.append(AccountScan(AccountTarget(account_id), candidates, reasons, count + cleared))
    return ScanResult(now, now, "report", scans)


def command_body(text: str, user: str, response_url: str) -> str:
    return urlencode(
        {
            "token": "legacy",
            "team_id": "T0TEAM",
            "channel_id": CHANNEL,
            "user_id": user,
            "command": COMMAND,
            "text": text,
            "response_url": response_url,
            "trigger_id": fresh_trigger(),
        }
    )


def interaction_body(payload: dict[str, Any]) -> str:
    payload = {"team": {"id": "T0TEAM"}, "api_app_id": "A0APP", "token": "legacy", **payload}
    return urlencode({"payload": json.dumps(payload)})


def click_payload(
    action_id: str,
    value: str,
    user: str,
    channel: str,
    response_url: str,
    message: tuple[str, str | None] = ("1.0001", None),
) -> dict[str, Any]:
    """A button click on the message `message` (its ts, and its thread's when a reply)."""
    ts, thread = message
    container = {"type": "message", "channel_id": channel, "message_ts": ts}
    return {
        "type": "block_actions",
        "user": {"id": user, "team_id": "T0TEAM"},
        "trigger_id": fresh_trigger(),
        "channel": {"id": channel},
        "container": container | ({"thread_ts": thread} if thread else {}),
        "response_url": response_url,
        "actions": [{"action_id": action_id, "block_id": "b", "value": value, "type": "button"}],
    }


def bot_settings(standin: SlackStandIn, database_url: str, **changes: Any) -> Settings:
    settings = Settings(
        slack_bot_token="xoxb-test",
        slack_signing_secret=SECRET,
        slack_channel=CHANNEL,
        slack_api_url=standin.url,
        slack_approvers=frozenset({APPROVER}),
        slack_post_interval=0,
        database_url=database_url,
    )
    return replace(settings, **changes)


@dataclass
class BotHarness:
    services: Services
    web: FlaskClient
    standin: SlackStandIn
    scanner: Scanner

    @classmethod
    def start(
        cls,
        settings: Settings,
        repository: Repository,
        session: boto3.Session,
        standin: SlackStandIn,
        *,
        process_before_response: bool = True,
    ) -> BotHarness:
        """`process_before_response=True` answers each request once its listener is done, so
        tests read the outcome right after; False is production's way (ack first, work after).

        The harness is its own scanner process too: a scan asked for runs in the thread that
        asked, right after the asker was told it is queued (the scanner's own loop is tested
        in tests/integration/test_scanner.py)."""
        services = build_services(
            settings, repository, session, clock=utc_now, answer_first=not process_before_response
        )
        scanner = build_scanner(services, heartbeat_ttl=timedelta(days=1))
        with suppress(RecordsUnavailable):  # a harness on a database that is down
            scanner.beat()
        services.scan_queued = scanner.run_pending
        web = create_flask(build_app(services), services).test_client()
        return cls(services, web, standin, scanner)

    @property
    def repository(self) -> Repository:
        return self.services.repository

    # --- signed requests ---------------------------------------------------------------------

    def post(self, body: str, *, secret: str = SECRET, age: float = 0, content_type: str) -> Any:
        timestamp = str(int(time.time() - age))
        signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
        return self.web.post(
            "/slack/events",
            data=body,
            content_type=content_type,
            headers={"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature},
        )

    def command(self, text: str, user: str = APPROVER, **options: Any) -> Any:
        body = command_body(text, user, self.standin.response_url())
        return self.post(body, content_type="application/x-www-form-urlencoded", **options)

    def reply(self, text: str, user: str = APPROVER) -> dict[str, Any]:
        """The command's last answer to the person: in its acknowledgement (help and usage) or,
        after it, through its response URL."""
        before = len(self.standin.calls)
        response = self.command(text, user)
        assert response.status_code == 200
        if response.get_data():
            return response.get_json()
        answers = [c for c in self.standin.calls[before:] if c.method == "response/respond"]
        assert answers, f"no answer to {text!r}"
        return answers[-1].params

    def replies(self, text: str, user: str = APPROVER) -> str:
        """Every answer to the command, as one text (blocks included)."""
        before = len(self.standin.calls)
        response = self.command(text, user)
        assert response.status_code == 200
        answers = [c for c in self.standin.calls[before:] if c.method == "response/respond"]
        return response.get_data(as_text=True) + "".join(json.dumps(c.params) for c in answers)

    def interact(self, payload: dict[str, Any], **options: Any) -> Any:
        body = interaction_body(payload)
        return self.post(body, content_type="application/x-www-form-urlencoded", **options)

    def click(
        self,
        action_id: str,
        value: str,
        user: str = APPROVER,
        channel: str = CHANNEL,
        message: tuple[str, str | None] = ("1.0001", None),
        **options: Any,
    ) -> Any:
        response_url = self.standin.response_url()
        payload = click_payload(action_id, value, user, channel, response_url, message)
        return self.interact(payload, **options)

    def event(self, event: dict[str, Any], **options: Any) -> Any:
        """An Events API delivery of `event`, as Slack signs and sends it (JSON)."""
        body = json.dumps(
            {
                "token": "legacy",
                "team_id": "T0TEAM",
                "api_app_id": "A0APP",
                "type": "event_callback",
                "event_id": f"Ev{time.time_ns()}",
                "event_time": int(time.time()),
                "event": event,
            }
        )
        return self.post(body, content_type="application/json", **options)

    def open_home(self, user: str, tab: str = "home") -> Any:
        """`user` opens the app's Home tab (or its Messages tab)."""
        event = {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": tab}
        return self.event(event | {"event_ts": f"{time.time():.6f}"})

    def home_click(self, action_id: str, value: str, user: str) -> Any:
        """A button pressed on `user`'s Home tab: the payload has the view, no message and no
        channel, and no response URL."""
        return self.interact(
            {
                "type": "block_actions",
                "user": {"id": user, "team_id": "T0TEAM"},
                "trigger_id": fresh_trigger(),
                "container": {"type": "view", "view_id": "V0HOME"},
                "view": {
                    "id": "V0HOME",
                    "type": "home",
                    "callback_id": "",
                    "private_metadata": "",
                    "blocks": [],
                    "state": {"values": {}},
                    "hash": "1.home",
                },
                "actions": [
                    {"action_id": action_id, "block_id": "b", "value": value, "type": "button"}
                ],
            }
        )

    def home_of(self, user: str) -> dict[str, Any]:
        """The Home view the bot published last for `user` (Slack took it)."""
        published = [
            call
            for call in self.standin.named("views.publish")
            if call.params.get("user_id") == user and call.answer.get("ok")
        ]
        assert published, f"no Home published for {user}"
        view = published[-1].params["view"]
        return json.loads(view) if isinstance(view, str) else view

    def submit(
        self, callback_id: str, values: dict[str, Any], metadata: dict[str, Any], user: str
    ) -> Any:
        return self.interact(
            {
                "type": "view_submission",
                "user": {"id": user, "team_id": "T0TEAM"},
                "trigger_id": fresh_trigger(),
                "view": {
                    "id": "V0MODAL",
                    "type": "modal",
                    "callback_id": callback_id,
                    "private_metadata": json.dumps(metadata),
                    "state": {"values": values},
                },
            }
        )

    def submit_keep(
        self, finding: Finding, user: str, reason: str, period: str, surface: str
    ) -> Any:
        values = {
            BlockId.KEEP_REASON: {
                InputId.KEEP_REASON: {"type": "plain_text_input", "value": reason}
            },
            BlockId.KEEP_PERIOD: {
                InputId.KEEP_PERIOD: {"type": "static_select", "selected_option": {"value": period}}
            },
        }
        return self.submit(
            CallbackId.KEEP, values, {"finding_id": finding.id, "surface": surface}, user
        )

    def last_form(self) -> dict[str, Any]:
        """The modal the bot showed last: opened, or filled in after a placeholder."""
        shown = [c for c in self.standin.calls if c.method in ("views.open", "views.update")]
        view = shown[-1].params["view"]
        return json.loads(view) if isinstance(view, str) else view

    def submit_last_form(self, user: str = APPROVER, values: dict[str, Any] | None = None) -> Any:
        """Submit the modal the bot showed last, as the person it was opened for would."""
        view = self.last_form()
        metadata = json.loads(view["private_metadata"])
        return self.submit(view["callback_id"], values or {}, metadata, user)

    def close_last_form(self, user: str = APPROVER) -> Any:
        """Close the modal the bot opened last without submitting it (Slack's view_closed)."""
        view = self.last_form()
        return self.interact(
            {
                "type": "view_closed",
                "user": {"id": user, "team_id": "T0TEAM"},
                "view": {**view, "id": "V0MODAL", "state": {"values": {}}},
                "is_cleared": False,
            }
        )

    # --- reading state -----------------------------------------------------------------------

    def finding(self, user_name: str) -> Finding:
        (row,) = [
            row for row in self.repository.findings_for_user(user_name) if row.closed_at is None
        ] or self.repository.findings_for_user(user_name)[:1]
        return row

    def actions_of(self, finding: Finding) -> list[tuple[str, str | None, str | None]]:
        return [
            (event.action, event.actor, event.reason)
            for event in self.repository.history(finding.id)
        ]
