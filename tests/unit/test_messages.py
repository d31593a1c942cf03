"""Message builders without Slack: shape, Block Kit limits, and the words people read."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from slack_sdk.models.blocks import DividerBlock

from bot.domain.records import Surface
from bot.domain.scan import AccountScan, AccountTarget
from bot.domain.workflow import State
from bot.slack.ids import ActionId
from bot.slack.messages.blocks import MAX_BLOCKS, MessageTooLarge, checked
from bot.slack.messages.channel import (
    ThreadProgress,
    batches,
    escalation,
    finding_blocks,
    findings_message,
    scan_summary,
)
from bot.slack.messages.command import help_message, history_message, list_page
from bot.slack.messages.finding import KeyRules, finding_facts, status_line
from bot.slack.messages.modals import confirm_modal, keep_modal, unkeep_modal
from bot.slack.messages.owner import owner_dm
from bot.slack.messages.text import literal, truncate
from storage.models import AuditEvent, Finding
from tests.support.slack_rules import message_problem, view_problem

NOW = datetime(2026, 11, 27, tzinfo=UTC)
KEYS = KeyRules(deactivate=True, reactivate_days=30, now=NOW)  # the settings' defaults
ROOT = Path(__file__).resolve().parents[2]


def row(name: str = "ann", **changes) -> Finding:
    values = dict(
        id=f"{abs(hash(name)):032x}"[:32],
        account_id="111122223333",
        user_name=name,
        user_arn=f"arn:aws:iam::111122223333:user/{name}",
        category="dormant",
        fully_inactive=True,
        state=State.OPEN,
        days_idle=120,
        user_created=NOW - timedelta(days=900),
        password_last_used=NOW - timedelta(days=120),
        newest_key_used=None,
        owner="ann@example.com",
        first_seen=NOW,
        last_seen=NOW,
    )
    values.update(changes)
    return Finding(**values)


def test_a_full_batch_of_longest_names_stays_within_limits():
    batch = [row(f"{i:02d}" + "x" * 62, owner="o" * 300 + "@example.com") for i in range(10)]
    message = findings_message(batch, UTC, dry_run=True, keys=KEYS)
    assert len(message.blocks) <= MAX_BLOCKS
    buttons = [
        element
        for block in message.blocks
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    assert [b["action_id"] for b in buttons] == [ActionId.DISABLE, ActionId.KEEP] * 10
    assert all(len(b["confirm"]["text"]["text"]) <= 300 for b in buttons if "confirm" in b)
    assert {b["value"] for b in buttons} == {r.id for r in batch}  # only the opaque id travels


def test_more_than_ten_findings_in_one_message_is_refused():
    with pytest.raises(MessageTooLarge):
        findings_message([row(str(i)) for i in range(11)], UTC, dry_run=False, keys=KEYS)


def test_checked_refuses_more_than_fifty_blocks():
    blocks = list_page([row(str(i)) for i in range(5)], "", 1, UTC)
    assert len(blocks.blocks) < 50
    with pytest.raises(MessageTooLarge):
        checked("x", [DividerBlock()] * 51)


def test_batches_split_two_hundred_findings_into_twenty_messages():
    assert [len(b) for b in batches([row(str(i)) for i in range(200)])] == [10] * 20


def test_finding_line_reads_well():
    text = finding_facts(row(owner_slack_id="U0ANN"), UTC)
    assert text == (
        "`ann` in `111122223333` · dormant, fully inactive\n"
        "Idle *120 days* · last password use 2026-07-30 · newest key use never · owner <@U0ANN>\n"
        "privilege not known · MFA not known · no access keys"
    )


def test_a_privileged_finding_is_marked_with_why_its_mfa_keys_and_path():
    keys = [
        {"active": True, "last_used": "2026-11-01T08:00:00+00:00", "key_id": None},
        {"active": False, "last_used": None, "key_id": None},
    ]
    finding = row(
        user_arn="arn:aws:iam::111122223333:user/ops/admins/ann",
        privileged=True,
        privilege="AdministratorAccess through group <!channel>",
        mfa_active=False,
        facts={"keys": keys},
    )
    assert finding_facts(finding, UTC).splitlines()[2] == (
        ":rotating_light: *Privileged*: `AdministratorAccess through group &lt;!channel&gt;`"
        " · *no MFA* · keys: active, used 2026-11-01; inactive, never used · path `/ops/admins/`"
    )


def test_an_unprivileged_finding_with_mfa_is_not_marked():
    line = finding_facts(row(privileged=False, mfa_active=True), UTC).splitlines()[2]
    assert line == "MFA on · no access keys"


def test_an_unprivileged_finding_says_why_an_allow_of_everything_does_not_count():
    finding = row(
        privileged=False,
        privilege="AdministratorAccess, but denied by inline policy quarantine",
        mfa_active=True,
    )
    assert finding_facts(finding, UTC).splitlines()[2] == (
        "not privileged: `AdministratorAccess, but denied by inline policy quarantine`"
        " · MFA on · no access keys"
    )


@pytest.mark.parametrize(
    ("state", "changes", "expected"),
    [
        (State.AWAITING_OWNER, {"requested_by": "U1", "owner_slack_id": "U2"}, "waiting for <@U2>"),
        (State.DISABLED, {"decided_by": "U2"}, "Console password removed; confirmed by <@U2>"),
        (
            State.KEPT,
            {"decided_by": "U2", "kept_until": NOW, "decision_note": "on-call"},
            "Kept until 2026-11-27 by <@U2>: `on-call`",
        ),
        (State.ABORTED, {"decision_note": "re-check: password used"}, "Not removed: `re-check"),
    ],
)
def test_status_lines(state, changes, expected):
    line = status_line(row(state=state, **changes), UTC, keys=KEYS)
    assert expected in line


def test_decided_findings_lose_their_buttons():
    blocks = finding_blocks(row(state=State.KEPT, decided_by="U1"), UTC, keys=KEYS)
    assert [b.type for b in blocks] == ["section", "context"]


def test_dry_run_is_said_in_every_message():
    finding = row(state=State.AWAITING_OWNER, requested_by="U1", owner_slack_id="U2")
    account = AccountScan(AccountTarget("111122223333"), users_seen=3)
    for message in (
        scan_summary(account, [finding], dry_run=True),
        findings_message([finding], UTC, dry_run=True, keys=KEYS),
        owner_dm(finding, UTC, dry_run=True, keys=KEYS),
    ):
        assert "Dry run" in json.dumps(message.blocks)
    assert "Dry run" in json.dumps(confirm_modal(finding, "Owner unknown", UTC, True, KEYS))


def test_keep_modal_asks_for_reason_and_period():
    owners = keep_modal(row(), "slack-dm", owner_max_days=120, zone=UTC)["blocks"][2]["element"]
    assert [o["value"] for o in owners["options"]] == ["30", "90", "120"]
    view = keep_modal(row(), "slack-channel", owner_max_days=120, zone=UTC)
    assert json.loads(view["private_metadata"]) == {
        "finding_id": row().id,
        "surface": "slack-channel",
    }
    select = view["blocks"][2]["element"]
    assert [o["value"] for o in select["options"]] == ["30", "90", "180", "forever"]


def test_manifest_grants_exactly_the_scopes_the_code_uses():
    scope_of = {
        "chat_postMessage": "chat:write",
        "chat_update": "chat:write",
        "chat_postEphemeral": "chat:write",
        "conversations_open": "im:write",
        "users_info": "users:read",
        "users_lookupByEmail": "users:read.email",
        "users_list": ("users:read", "users:read.email"),  # emails show with the second
        "usergroups_users_list": "usergroups:read",
        "views_open": None,
        "views_update": None,
        "views_publish": None,
        "conversations_members": ("channels:read", "groups:read"),  # public or private
        "conversations_history": ("channels:history", "groups:history"),
        "conversations_replies": ("channels:history", "groups:history"),
        "files_upload_v2": "files:write",
    }
    paths = [*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/*.py")]
    source = " ".join(path.read_text() for path in paths)
    called = set(re.findall(r"client\.(\w+)\(", source))
    assert called <= set(scope_of), called - set(scope_of)
    granted = [scope_of[method] for method in called]
    needed = {s for g in granted for s in (g if isinstance(g, tuple) else [g])} - {None}
    needed |= {"commands"}
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == needed
    assert manifest["features"]["slash_commands"][0]["url"].endswith("/slack/events")


HOSTILE = "<!channel> <@U0X> <https://x|y> a < b & c *bold* _it_ ~s~ `tick`"
SHOWN = (
    "`&lt;!channel&gt; &lt;@U0X&gt; &lt;https://x|y&gt; a &lt; b &amp; c *bold* _it_ ~s~ "
    "\u02cbtick\u02cb`"
)


def test_text_from_people_and_aws_is_shown_as_written_never_as_markup():
    assert literal(HOSTILE) == SHOWN
    kept = row(state=State.KEPT, decided_by="U1", decision_note=HOSTILE, owner="_it_ :x: a@b.io")
    account = AccountScan(AccountTarget("111122223333", name=HOSTILE), error=HOSTILE)
    payloads = [
        status_line(kept, UTC, keys=KEYS),
        finding_facts(kept, UTC),
        json.dumps(scan_summary(account, [], dry_run=False).blocks, ensure_ascii=False),
        json.dumps(owner_dm(kept, UTC, False, KEYS).blocks, ensure_ascii=False),
        json.dumps(list_page([kept], "", 1, UTC).blocks, ensure_ascii=False),
    ]
    for payload in payloads:
        assert "<!channel>" not in payload and "<@U0X>" not in payload and "<https" not in payload
    assert SHOWN in payloads[0] and SHOWN in payloads[2]
    assert "`_it_ :x: a@b.io`" in payloads[1]  # the owner tag, as written


def test_the_bots_own_actors_are_named_not_mentioned():
    line = status_line(row(state=State.DISABLED, decided_by="scheduler"), UTC, keys=KEYS)
    assert "<@scheduler>" not in line and "the scheduler" in line


EXTREME_NAME = "a+b=c,d.e@f_g-h" * 4 + "xyzw"  # 64 characters, every symbol IAM allows
ASTRAL_OWNER = "\U0001d4d0" * 256 + "@example.com"  # mathematical script letters
LONG_REASON = "why " * 125  # the modal's maximum, 500 characters


def test_no_extreme_value_makes_a_builder_send_what_slack_refuses():
    def extreme_row(number: int) -> Finding:
        return row(
            EXTREME_NAME[:-2] + f"{number:02d}",
            owner=ASTRAL_OWNER,
            state=State.KEPT,
            decided_by="U0APPROVER",
            decision_note=LONG_REASON,
            kept_until=NOW,
            state_changed_at=NOW,
        )

    extreme = extreme_row(0)
    event = AuditEvent(at=NOW, actor="U0APPROVER", action="keep", reason=LONG_REASON)
    account = AccountScan(AccountTarget("111122223333", name="n" * 50), error=LONG_REASON * 10)
    messages = [
        findings_message([extreme_row(n) for n in range(10)], UTC, dry_run=True, keys=KEYS),
        owner_dm(extreme, UTC, dry_run=True, keys=KEYS),
        scan_summary(account, [extreme], dry_run=True),
        scan_summary(account, [extreme], dry_run=True, thread=ThreadProgress(2000, 10, 30, True)),
        history_message(EXTREME_NAME, [(extreme_row(n), [event] * 40) for n in range(30)], UTC),
        list_page([extreme_row(n) for n in range(40)], "", 1, UTC),
        help_message(f"I don't know {literal('x' * 3000)}."),
    ]
    for message in messages:
        assert message_problem({"text": message.text, "blocks": message.blocks}) is None
    why = f"The owner {ASTRAL_OWNER} has left"
    views = [
        confirm_modal(extreme, why, UTC, True, KEYS),
        keep_modal(extreme, Surface.DM, 180, UTC),
        unkeep_modal(extreme, UTC),
    ]
    for view in views:
        assert view_problem(view) is None


def test_a_cut_keeps_raw_text_and_never_ends_inside_markup():
    assert (
        truncate("R&D " * 200, 50).startswith("R&D R&D") and len(truncate("R&D " * 200, 50)) <= 50
    )
    assert truncate("x" * 45 + " &amp; more text", 50) == "x" * 45 + " …"
    assert truncate("see <@U0ABCDEFGH> " * 5, 30).endswith("see …")
    assert truncate("`" + "y" * 60 + "`", 20).endswith("…`")


def test_a_long_history_says_what_it_left_out():
    events = [AuditEvent(at=NOW, actor="U0APPROVER", action="keep", reason=LONG_REASON)] * 40
    findings = [(row("ann", state=State.KEPT), events) for _ in range(30)]
    message = history_message("ann", findings, UTC)
    text = json.dumps(message.blocks, ensure_ascii=False)
    assert "…and 35 earlier" in text  # the latest five 500-character reasons fit
    assert "…and 18 earlier findings of this user" in text


@pytest.mark.parametrize(
    ("dm_ts", "said"),
    [("1733400000.000100", "has not answered for 7 days"), (None, "could not be reached by DM")],
)
def test_an_escalation_says_whether_the_owner_was_ever_reached(dm_ts, said):
    finding = row(state=State.AWAITING_OWNER, owner_slack_id="U2", dm_ts=dm_ts)
    assert said in escalation(finding, 7, UTC).text
