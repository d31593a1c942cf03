"""A hostile review of the Slack surfaces: each test is a defect shown through the real Bolt
pipeline (signed requests, the Slack stand-in, SQLite). They fail while the defect stands."""

from __future__ import annotations

import json

import pytest

from bot.domain.clock import utc_now
from bot.domain.workflow import State
from bot.slack.ids import ActionId
from tests.integration.conftest import set_fields, start_bot
from tests.support.bot_harness import APPROVER, CHANNEL, OWNER, idle_scan

ACCOUNT_A, ACCOUNT_B = "111111111111", "222222222222"


@pytest.fixture
def database_url(tmp_path):
    """About Slack, not storage: a SQLite file is enough."""
    return f"sqlite:///{tmp_path / 'bot.db'}"


@pytest.fixture
def harness(standin, database_file, aws_session):
    return start_bot(standin, database_file, aws_session)


def record(harness, accounts: dict[str, int]):
    """A scan that found idle passwords `idle-00000`... in each account, recorded (not posted)."""
    return harness.repository.record_scan(idle_scan(accounts, utc_now()), "test", dry_run=False)


def open_in(harness, user_name: str, account: str):
    (row,) = [
        row
        for row in harness.repository.findings_for_user(user_name)
        if row.account_id == account and row.closed_at is None
    ]
    return row


# --- `show`: an owner sees their own IAM user, not another account's of the same name ---------


def test_an_owner_shown_their_user_does_not_see_another_accounts_user_of_that_name(harness):
    """OWNER owns `idle-00000` in account A (they were asked about it); `idle-00000` in account B
    is someone else's IAM user, kept with a reason. OWNER is neither an approver nor in the
    findings channel, so `show` must not show them account B's finding or its history."""
    record(harness, {ACCOUNT_A: 1, ACCOUNT_B: 1})
    mine = open_in(harness, "idle-00000", ACCOUNT_A)
    theirs = open_in(harness, "idle-00000", ACCOUNT_B)
    set_fields(harness.repository, mine.id, owner_slack_id=OWNER, state=State.AWAITING_OWNER)
    set_fields(harness.repository, theirs.id, owner="someone-else@example.com")
    shown = json.dumps(harness.reply("show idle-00000", user=OWNER))
    assert ACCOUNT_A in shown  # their own: fine
    assert ACCOUNT_B not in shown, "an owner was shown another account's IAM user and history"


# --- list paging: the filter a Previous/Next button carries is not checked --------------------


def page_value(filter_: str, page: int) -> str:
    return json.dumps({"filter": filter_, "page": page}, ensure_ascii=False)


def test_a_list_button_with_a_filter_no_list_takes_is_refused_not_answered_with_everything(
    harness, standin
):
    """`/iam-inactive list` refuses a filter that is not dormant, keys_only, idle_key or an
    account id; the same filter carried by a Next button is taken: every open finding is listed
    under a header naming a filter that was never applied."""
    record(harness, {ACCOUNT_A: 20})
    assert "`list` takes" in harness.reply("list nonsense")["text"]  # the command refuses it
    standin.clear()
    harness.click(ActionId.LIST_NEXT, page_value("nonsense", 2))
    (answer,) = standin.named("response/respond")
    assert "open findings (nonsense)" not in answer.text_of_blocks()
    assert answer.params["text"].startswith("That button or form is not one of mine")


def test_a_list_button_whose_next_page_button_slack_would_refuse_gets_an_answer(harness, standin):
    """A Next button carrying a filter of 400 accented letters (a value of 427 characters, well
    within Slack's 2,000) makes a page whose own Next button's value is JSON with ASCII escapes:
    2,427 characters. slack_sdk refuses to build it (SlackObjectFormationError, a SlackClientError),
    and the person is told that Slack could not be reached, which is not what happened."""
    record(harness, {ACCOUNT_A: 40})
    value = page_value("é" * 400, 2)
    assert len(value) <= 2000  # a value Slack itself carries
    harness.click(ActionId.LIST_NEXT, value)
    told = standin.said_to(APPROVER)
    assert "Slack could not be reached" not in told, told  # Slack was never asked
    assert standin.named("response/respond"), "the click got no page and no refusal"


# --- account ids as people type them --------------------------------------------------------

FULLWIDTH_A = ACCOUNT_A.translate(str.maketrans("0123456789", "０１２３４５６７８９"))


def test_an_account_id_in_fullwidth_digits_is_refused_not_taken_for_an_empty_account(
    harness, standin
):
    """ACCOUNT_ID is `^\\d{12}$`, and `\\d` takes every Unicode digit: `list １１１…` (typed with a
    CJK input method) passes as an account id and is answered "0 open findings" although the
    account has 20. (`export` checks `isascii()`; `list` and `scan` do not.)"""
    record(harness, {ACCOUNT_A: 20})
    answer = json.dumps(harness.reply(f"list {FULLWIDTH_A}"), ensure_ascii=False)
    assert "0 open findings" not in answer, "told an account with 20 open findings has none"


def test_scanning_an_account_the_bot_does_not_scan_is_refused_and_leaves_no_phantom_account(
    harness, standin
):
    """`scan 999999999999` (a typo) is queued and run: the channel is told publicly that the scan
    of 999999999999 failed, and every approver's Home lists 999999999999 as an account with a
    failed last scan from then on. A bad word should get a clear answer and change nothing."""
    harness.reply("scan 999999999999")
    harness.open_home(APPROVER)
    home = json.dumps(harness.home_of(APPROVER))
    said = [c for c in standin.posted(CHANNEL) if "999999999999" in c.text_of_blocks()]
    assert "999999999999" not in home, "a phantom account on the approvers' Home"
    assert not said, "the channel was told a scan of an account nobody scans failed"


# --- IAM user names as people type them ------------------------------------------------------


def kept_idle_user(harness):
    record(harness, {ACCOUNT_A: 1})
    finding = open_in(harness, "idle-00000", ACCOUNT_A)
    set_fields(harness.repository, finding.id, state=State.KEPT, decided_by=APPROVER)
    return finding


def test_show_finds_an_iam_user_whatever_the_case_typed(harness, standin):
    """IAM user names are unique without regard to case (AWS refuses `ADMIN` beside `admin`),
    so `IDLE-00000` can only mean `idle-00000`; the bot answers "No findings" about a user it
    holds a finding for."""
    kept_idle_user(harness)
    shown = harness.reply("show IDLE-00000")["text"]
    assert "No findings" not in shown, shown


def test_unkeep_finds_an_iam_user_whatever_the_case_typed(harness, standin):
    """The same for `unkeep`: "No kept finding for IAM user `Idle-00000`, so nothing was done"
    while `idle-00000` is kept."""
    finding = kept_idle_user(harness)
    unkept = harness.reply("unkeep Idle-00000 no longer needed")["text"]
    assert "No kept finding" not in unkept, unkept
    assert harness.repository.finding(finding.id).state == State.OPEN


# --- a tampered finding id -------------------------------------------------------------------


def test_a_finding_id_with_a_trailing_newline_is_not_mine_not_a_finding_gone(harness, standin):
    """FINDING_ID is `^[0-9a-f]{32}$`, and `$` also matches before a final newline: a value that
    is no id of the bot's is looked up, and the person is told the finding "no longer exists"
    (it does), the refusal recorded as "unknown finding" instead of a tampered value."""
    record(harness, {ACCOUNT_A: 1})
    finding = open_in(harness, "idle-00000", ACCOUNT_A)
    harness.click(ActionId.DISABLE, finding.id + "\n")
    told = standin.said_to(APPROVER)
    assert "no longer exists" not in told, told
    assert "not one of mine" in told


def test_an_owner_whose_home_lists_their_keep_may_show_it(harness, standin):
    """The owner tag holds OWNER's Slack id; an approver kept the finding in the channel, so
    OWNER was never asked. Their Home lists it under "Your keeps", but `show` refuses them with
    "...each owner sees their own IAM users": `show` knows owners only by the id recorded when
    they were asked (flows.user_history), the Home by the owner tag."""
    finding = kept_idle_user(harness)
    set_fields(harness.repository, finding.id, owner=OWNER)
    harness.open_home(OWNER)
    assert "Your keeps (1)" in json.dumps(harness.home_of(OWNER))
    shown = harness.reply("show idle-00000", user=OWNER)["text"]
    assert "Findings are shown to approvers" not in shown, shown
