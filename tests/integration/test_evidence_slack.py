"""`/iam-inactive export [days]`: the evidence and population CSVs in the approver's DM, in one
message, through the production HTTP path with the Slack stand-in and the scenario scanned
from moto by the real scanner."""

from __future__ import annotations

import json

import pytest
import yaml

from bot.aws.demo import seed_users
from bot.domain.evidence import COLUMNS
from bot.domain.population import POPULATION_COLUMNS
from bot.domain.sheets import read_csv
from bot.slack.ids import ActionId
from bot.slack.messages.command import help_message
from tests.integration.conftest import LEFT, SCENARIO, has_password, start_bot
from tests.integration.test_cli import ROOT
from tests.integration.test_decisions import APPROVER
from tests.support.bot_harness import OWNER, STRANGER
from tests.support.slack_standin import SlackStandIn, dm_channel


def uploads(standin: SlackStandIn) -> list[str]:
    return [c.method for c in standin.calls if c.method.startswith(("files.", "upload/"))]


def files_sent(standin: SlackStandIn) -> dict[str, str]:
    """Each file uploaded, by its name's kind (evidence, population): files_upload_v2 asks for
    every file's URL, then sends the bodies, in the same order."""
    named = [c.params["filename"] for c in standin.named("files.getUploadURLExternal")]
    bodies = [c.params["data"].decode() for c in standin.calls if c.method.startswith("upload/")]
    assert len(named) == len(bodies)
    return {name.split("-")[2]: body for name, body in zip(named, bodies, strict=True)}


def test_an_approver_gets_both_csvs_in_one_message_in_their_dm(bot, standin):
    bot.click(ActionId.DISABLE, bot.finding("owned").id)
    standin.clear()
    answer = bot.reply("export 30")
    (opened,) = standin.named("conversations.open")
    assert opened.params["users"] == APPROVER.id  # the harness's approver
    (complete,) = standin.named("files.completeUploadExternal")  # one message, two files
    assert complete.params["channel_id"] == dm_channel(APPROVER.id)
    titles = [f["title"] for f in json.loads(complete.params["files"])]
    assert titles == ["iam-inactive evidence", "iam-inactive population"]
    files = files_sent(standin)
    described, rows = read_csv(files["evidence"])
    assert tuple(rows[0]) == COLUMNS and described[0][0] == "# iam-inactive evidence export"
    assert {r["user_name"] for r in rows} == {"idle-dormant", "keys-only", "owned", "left-company"}
    assert ("owned", "disable_requested", APPROVER.id) in {
        (r["user_name"], r["action"], r["actor"]) for r in rows
    }
    lines = complete.params["initial_comment"]
    evidence_line, population_line = lines.splitlines()
    assert evidence_line.startswith("Evidence for ")
    assert "all accounts: 4 findings; 4 found" in evidence_line
    assert population_line.startswith("Population for ")
    assert answer["text"] == f"Sent the evidence and population CSV files to your DM.\n{lines}"


@pytest.fixture
def everyone(standin, database_file, aws_session, now):
    """The bot after a scan of every named situation the rule must get right."""
    seed_users(aws_session, (*SCENARIO, LEFT), now)
    harness = start_bot(standin, database_file, aws_session)
    assert harness.command("scan").status_code == 200
    return harness


def test_the_population_file_holds_every_user_the_scanner_saw_with_its_verdict(everyone, standin):
    bot = everyone
    owned = bot.finding("owned")
    bot.click(ActionId.DISABLE, owned.id)
    standin.clear()
    bot.reply("export")
    described, rows = read_csv(files_sent(standin)["population"])
    assert described[0][0] == "# iam-inactive population export"
    assert all(tuple(row) == POPULATION_COLUMNS for row in rows)
    verdicts = {r["user_name"]: r["verdict"] for r in rows}
    assert verdicts == {
        "idle-dormant": "finding: dormant",
        "never-used-old": "finding: dormant",
        "keys-only": "finding: keys_only",
        "owned": "finding: dormant",
        "left-company": "finding: dormant",
        "recent-login": "password used in the last 90 days",
        "no-password": "no console password",
        "new-user": "user created in the last 90 days",
        "exempt": "exempt: tag iam-inactive:exempt",
    }
    (row,) = [r for r in rows if r["user_name"] == "owned"]
    assert (row["finding_id"], row["finding_outcome"]) == (owned.id, "open")
    assert row["account_id"] == owned.account_id and row["last_assessed"] == row["verdict_since"]
    assert all(r["finding_id"] == "" for r in rows if not r["verdict"].startswith("finding"))
    assert ["# summary", files_sent_line(standin)] in described


def files_sent_line(standin: SlackStandIn) -> str:
    (complete,) = standin.named("files.completeUploadExternal")
    return complete.params["initial_comment"].splitlines()[1]


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
    _described, rows = read_csv(files_sent(standin)["evidence"])
    (removed,) = [r for r in rows if r["action"] == "disabled"]
    assert len(removed["aws_request_id"]) > 8  # the id moto's IAM gave DeleteLoginProfile
    assert removed["checked_after"] == "GetLoginProfile: NoSuchEntity"


def test_people_are_recorded_with_their_name_in_slack_then(bot, standin):
    standin.add_user(APPROVER.id, name="Ann Approver")
    finding = bot.finding("owned")
    bot.click(ActionId.DISABLE, finding.id)
    standin.users[APPROVER.id]["real_name"] = "Ann Renamed"  # read once; the record keeps it
    standin.clear()
    bot.reply("export 30")
    evidence, _population = [c for c in standin.calls if c.method.startswith("upload/")]
    _described, rows = read_csv(evidence.params["data"].decode())
    asked = [(r["actor"], r["actor_name"]) for r in rows if r["action"] == "disable_requested"]
    assert asked == [(APPROVER.id, "Ann Approver")]
    opened = {r["actor_name"] for r in rows if r["action"] == "opened"}
    assert opened == {""}  # the scanner has no name in Slack
