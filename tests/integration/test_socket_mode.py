"""Socket Mode: the bot connects through Bolt's Socket Mode adapter and answers an envelope."""

from __future__ import annotations

from dataclasses import replace

from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.domain.clock import utc_now
from bot.entry.bootstrap import build_app, build_services
from tests.support.bot_harness import APPROVER, CHANNEL, bot_settings
from tests.support.slack_standin import fresh_trigger
from tests.support.socket_standin import SocketModeStandIn


def test_slash_command_over_socket_mode_is_acknowledged_with_the_answer(
    standin, repository, aws_session
):
    socket = SocketModeStandIn()
    standin.socket_url = socket.url
    settings = replace(
        bot_settings(standin, "unused"), slack_signing_secret=None, slack_app_token="xapp-1-test"
    )
    services = build_services(settings, repository, aws_session, utc_now)
    handler = SocketModeHandler(build_app(services, socket_mode=True), settings.slack_app_token)
    try:
        handler.connect()
        assert socket.connected.wait(10)
        socket.send(
            {
                "envelope_id": "envelope-1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": {
                    "command": "/iam-inactive",
                    "text": "help",
                    "user_id": APPROVER,
                    "channel_id": CHANNEL,
                    "team_id": "T0TEAM",
                    "response_url": standin.response_url(),
                    "trigger_id": fresh_trigger(),
                },
            }
        )
        ack = socket.acks.get(timeout=10)
    finally:
        handler.close()
        socket.stop()
    assert ack["envelope_id"] == "envelope-1"
    assert "/iam-inactive scan" in ack["payload"]["text"]
    assert len(standin.named("apps.connections.open")) == 1
