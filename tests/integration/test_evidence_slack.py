"""`/iam-inactive export [days]`: the evidence CSV in the approver's DM, through the production
HTTP path with the Slack stand-in."""

from __future__ import annotations

import pytest
import yaml

from bot.domain.evidence import COLUMNS
from bot.domain.sheets import read_csv
from bot.slack.ids import ActionId
from bot.slack.messages.command import help_message
from tests.integration.conftest import has_password
from tests.integration.test_cli import ROOT
from tests.integration.test_decisions import APPROVER
from tests.support.bot_harness import OWNER, STRANGER
from tests.support.slack_standin import SlackStandIn, dm_channel


def uploads(standin: SlackStandIn) -> list[str]:
    return [c.method for c in standin.calls if c.method.startswith(("files.", "upload/"))]


def test_an_approver_gets_the_csv_in_their_dm_with_what_it_covers(bot, standin):
    bot.click(ActionId.DISABLE, bot.finding("owned").id)
    standin.clear()
    answer = bot.reply("export 30")
    (opened,) = standin.named("conversations.open")
    assert opened.params["users"] == APPROVER.id  # the harness's approver
    (complete,) = standin.named("files.completeUploadExternal")
    assert complete.params["channel_id"] == dm_channel(APPROVER.id)
    (upload,) = [c for c in standin.calls if c.method.startswith("upload/")]
    described, rows = read_csv(upload.params["data"].decode())
    assert tuple(rows[0]) == COLUMNS and described[0][0] == "# iam-inactive evidence export"
    assert {r["user_name"] for r in rows} == {"idle-dormant", "keys-only", "owned", "left-company"}
    assert ("owned", "disable_requested", APPROVER.id) in {
        (r["user_name"], r["action"], r["actor"]) for r in rows
    }
    line = complete.params["initial_comment"]
    assert line.startswith("Evidence for ") and "all accounts: 4 findings; 4 found" in line
    assert answer["text"] == f"Sent the CSV file to your DM. {line}"


def test_a_non_approver_is_refused_and_nothing_is_uploaded(bot, standin):
    assert "Only approvers can do that" in bot.replies("export", user=STRANGER)
    assert uploads(standin) == [] and standin.named("conversations.open") == []


def test_without_the_files_scope_the_answer_says_so(bot, standin):
    standin.fail["files.getUploadURLExternal"] = "missing_scope"
    answer = bot.reply("export")
    assert "lacks the `files:write` scope, so nothing was sent" in answer["text"]
    assert standin.named("files.completeUploadExternal") == []


@pytest.mark.parametrize("days", ["0", "3651", "ninety", "-5", "\u00b2", "30 40"])
def test_bad_days_answer_the_usage_and_export_nothing(bot, standin, days):
    answer = bot.reply(f"export {days}")
    assert "`export` takes a number of days from 1 to 3650 (default 90)" in answer["text"]
    assert uploads(standin) == [] and standin.named("conversations.open") == []


def test_help_and_the_manifest_name_the_export():
    assert "/iam-inactive export [days]" in help_message().text
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert "export [days]" in manifest["features"]["slash_commands"][0]["usage_hint"]


def test_a_removal_carries_awss_request_id_and_the_check_after_it(bot, standin):
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    bot.click(ActionId.OWNER_CONFIRM, finding.id, user=OWNER, channel=dm_channel(OWNER))
    assert not has_password("owned")
    standin.clear()
    bot.reply("export 30")
    (upload,) = [c for c in standin.calls if c.method.startswith("upload/")]
    _described, rows = read_csv(upload.params["data"].decode())
    (removed,) = [r for r in rows if r["action"] == "disabled"]
    assert len(removed["aws_request_id"]) > 8  # the id moto's IAM gave DeleteLoginProfile
    assert removed["checked_after"] == "GetLoginProfile: NoSuchEntity"
