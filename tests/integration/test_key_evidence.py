"""Idle access keys in the evidence export and the population (issue 23): a key's finding is
exported with its key, a password finding with the idle keys riding on it, and every step on
keys (deactivated, reactivated, deleted) with who, when and AWS's request id. The steps are
taken through the workflow as the decision service takes them, recorded on a real database."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from bot.application.evidence import export, population
from bot.domain.assessment import IamIdentity, assess
from bot.domain.clock import iso
from bot.domain.evidence import (
    COLUMNS,
    EVENT_COLUMNS,
    EVENT_KEY_COLUMNS,
    FINDING_COLUMNS,
    FINDING_KEY_COLUMNS,
    Period,
)
from bot.domain.records import Actor, FindingChanges, Role, Surface, SystemActor
from bot.domain.rule import AccessKeyUse, Candidate, UserCredentials, evaluate
from bot.domain.scan import AccountScan
from bot.domain.settings import Settings
from bot.domain.sheets import read_csv
from bot.domain.workflow import Intent
from bot.slack.ids import ActionId
from storage.repository import Repository
from tests.integration.test_cli import run_bot
from tests.integration.test_decisions import APPROVER, OWNER
from tests.integration.test_evidence import JUNE, SETTINGS, day
from tests.integration.test_key_decisions import (
    deactivated,
    key_bot,  # noqa: F401 (a fixture)
)
from tests.integration.test_storage import ACCOUNT, T0, facts, scan
from tests.support.bot_harness import OWNER as OWNER_ID

SYSTEM = Actor(SystemActor.SYSTEM, Role.SYSTEM, Surface.SLACK)
SCHEDULER = Actor(SystemActor.SCHEDULER, Role.SCHEDULER, Surface.SCHEDULE)
KIM_KEY = AccessKeyUse(
    True, T0 - timedelta(days=100), created=T0 - timedelta(days=400), last_used_service="s3"
)
LEE_KEYS = (
    AccessKeyUse(True, None, created=T0 - timedelta(days=900)),
    AccessKeyUse(True, T0 - timedelta(days=300), created=T0 - timedelta(days=800)),
)
# Before issue 23 the export had these 32 columns, the last of them actor_name; the keys' come
# after every one of them.
BEFORE = FINDING_COLUMNS + EVENT_COLUMNS


def account(users: list[UserCredentials]) -> AccountScan:
    """The scan's verdicts on these users, as bot.aws.scanner makes them."""
    found: list[Candidate] = []
    cleared = {}
    for user in users:
        verdict = assess(
            user, evaluate(user, T0, Settings().thresholds), IamIdentity(), T0, SETTINGS
        )
        found.extend(verdict.findings)
        if verdict.cleared:
            cleared[user.user_name] = verdict.cleared
    return AccountScan(ACCOUNT, found, cleared, users_seen=len(users))


@dataclass
class Keys:
    repository: Repository
    kim: str  # an idle key, deactivated on day 2, reactivated by its owner on day 3
    lee: str  # a password with two idle keys, removed with them on day 2, deleted on day 40


def consented(repository: Repository, finding_id: str, at: datetime) -> None:
    for intent, by in (
        (Intent.REQUEST_DISABLE, APPROVER),
        (Intent.ASK_OWNER, APPROVER),
        (Intent.OWNER_CONFIRM, OWNER),
        (Intent.START_REMOVAL, SYSTEM),
    ):
        repository.transition(finding_id, intent, by, at=at)


def keys_acted_on(keys: tuple[AccessKeyUse, ...], request: str) -> list[dict[str, str | None]]:
    return [
        {"key_id": f"AKIA{n:016d}", "created": iso(key.created), "aws_request_id": request}
        for n, key in enumerate(keys)
    ]


def acted(
    repository: Repository,
    finding_id: str,
    intent: Intent,
    at: datetime,
    details: dict[str, object],
    **changes: object,
) -> None:
    """A step on keys, its details as bot.application.key_decisions records them: an idle key's
    own deactivation, that key's record; any other step, each key's under `keys`."""
    repository.transition(
        finding_id, intent, SYSTEM, at=at, details=details, changes=FindingChanges(**changes)
    )


@pytest.fixture
def keys(repository) -> Keys:
    users = [
        facts("kim", used_days_before=3, keys=(KIM_KEY,)),  # signs in: the key alone is idle
        facts("lee", keys=LEE_KEYS),
    ]
    record = repository.record_scan(scan(account(users)), "cli", dry_run=False)
    ids = {row.user_name: row.id for row in record.new}
    kim, lee = ids["kim"], ids["lee"]
    off = keys_acted_on((KIM_KEY,), "req-kim-off")
    consented(repository, kim, day(2))
    changes = {"key_id": off[0]["key_id"], "deactivated_keys": off}
    acted(repository, kim, Intent.FINISH_REMOVAL, day(2), off[0], **changes)
    repository.transition(kim, Intent.REACTIVATE, OWNER, at=day(3))
    on = keys_acted_on((KIM_KEY,), "req-kim-on")
    acted(repository, kim, Intent.FINISH_REACTIVATION, day(3), {"keys": on})
    removed = keys_acted_on(LEE_KEYS, "req-lee-keys")
    consented(repository, lee, day(2))
    proof = {"aws_request_id": "req-lee-password", "keys": removed}  # DeleteLoginProfile's
    acted(repository, lee, Intent.FINISH_REMOVAL, day(2), proof, deactivated_keys=removed)
    repository.transition(lee, Intent.DELETE_KEYS, SCHEDULER, at=day(28))
    deleted = {"keys": keys_acted_on(LEE_KEYS, "req-del")}
    acted(repository, lee, Intent.FINISH_DELETION, day(28), deleted)
    return Keys(repository, kim, lee)


def test_key_columns_are_appended_after_every_column_before_them(keys):
    _described, rows = read_csv(export(keys.repository, SETTINGS, JUNE).csv())
    assert all(tuple(row) == COLUMNS for row in rows)
    assert len(BEFORE) == 32 and BEFORE[-1] == "actor_name" and COLUMNS[: len(BEFORE)] == BEFORE
    appended = "key_id key_created key_last_used key_last_used_service idle_keys"
    assert COLUMNS[len(BEFORE) :] == FINDING_KEY_COLUMNS + EVENT_KEY_COLUMNS
    assert (
        *appended.split(),
        "deactivated_keys",
        "keys",
    ) == FINDING_KEY_COLUMNS + EVENT_KEY_COLUMNS


def test_an_idle_keys_finding_is_exported_with_its_key_and_every_step_on_it(keys):
    _described, rows = read_csv(export(keys.repository, SETTINGS, JUNE).csv())
    kim = [row for row in rows if row["finding_id"] == keys.kim]
    steps = "opened disable_requested awaiting_owner owner_confirmed disabling disabled"
    assert [row["action"] for row in kim] == [*steps.split(), "reactivating", "reactivated"]
    first = kim[0]
    assert first["category"] == "idle_key" and first["outcome"] == "reactivated"
    assert first["key_id"] == "AKIA0000000000000000"  # learnt when the bot acted
    assert first["key_created"] == iso(KIM_KEY.created)
    assert first["key_last_used"] == iso(KIM_KEY.last_used) == first["newest_key_used"]
    assert first["key_last_used_service"] == "s3" and first["idle_keys"] == ""
    off, _asked, on = kim[5], kim[6], kim[7]
    assert (off["actor"], off["event_at"], off["aws_request_id"]) == (
        "system",
        iso(day(2)),
        "req-kim-off",
    )
    assert json.loads(off["keys"])[0]["aws_request_id"] == "req-kim-off"
    assert (kim[6]["actor"], kim[6]["surface"], kim[6]["event_at"]) == (
        "U0OWNER",
        "slack-dm",
        iso(day(3)),
    )
    assert on["aws_request_id"] == "req-kim-on" and on["to_state"] == "reactivated"
    assert json.loads(first["deactivated_keys"]) == [
        {
            "key_id": "AKIA0000000000000000",
            "created": iso(KIM_KEY.created),
            "aws_request_id": "req-kim-off",
        }
    ]


def test_a_password_finding_carries_its_idle_keys_and_their_deletion(keys):
    made = export(keys.repository, SETTINGS, JUNE)
    _described, rows = read_csv(made.csv())
    lee = [row for row in rows if row["finding_id"] == keys.lee]
    assert {row["outcome"] for row in lee} == {"removed, keys deleted"}
    assert lee[0]["key_id"] == lee[0]["key_created"] == ""
    riding = json.loads(lee[0]["idle_keys"])
    assert [key["created"] for key in riding] == [iso(key.created) for key in LEE_KEYS]
    assert len(json.loads(lee[0]["deactivated_keys"])) == 2
    removed = next(row for row in lee if row["action"] == "disabled")
    assert removed["aws_request_id"] == "req-lee-password"
    assert {key["aws_request_id"] for key in json.loads(removed["keys"])} == {"req-lee-keys"}
    deleted = next(row for row in lee if row["action"] == "keys_deleted")
    assert deleted["actor"] == "system" and deleted["event_at"] == iso(day(28))
    assert deleted["aws_request_id"] == "req-del req-del"  # each key's, none of the step's own
    asked = next(row for row in lee if row["action"] == "deleting_keys")
    assert asked["actor"] == "scheduler"
    document = json.loads(made.json())
    (finding,) = [f for f in document["findings"] if f["finding_id"] == keys.lee]
    assert finding["idle_keys"] == riding and finding["events"][-1]["keys"][0]["key_id"]
    assert document["columns"]["finding"][-len(FINDING_KEY_COLUMNS) :] == list(FINDING_KEY_COLUMNS)


def test_the_summary_counts_keys_deactivated_reactivated_and_deleted(keys):
    summary = export(keys.repository, SETTINGS, JUNE).summary
    assert (summary.removed, summary.deactivated, summary.reactivated, summary.keys_deleted) == (
        1,
        1,
        1,
        1,
    )
    assert summary.line().endswith(
        "median days to decision 2 days; idle keys: 1 deactivated (+0 in dry run), "
        "1 reactivated, 1 deleted."
    )


def test_the_export_names_the_key_settings_it_was_made_with(keys):
    settings = Settings(key_actions="off", key_delete_after_days=60)
    made = export(keys.repository, settings, JUNE)
    described, _rows = read_csv(made.csv())
    facts_of = {row[0]: row[1:] for row in described}
    assert facts_of["# key_idle_days"] == ["45"] and facts_of["# key_actions"] == ["off"]
    assert facts_of["# key_reactivate_days"] == ["30"]
    assert facts_of["# key_delete_after_days"] == ["60"]
    about = json.loads(made.json())["about"]
    assert about["thresholds"]["key_idle_days"] == 45 and about["key_actions"] == "off"
    assert about["thresholds"]["key_delete_after_days"] == 60


def test_the_population_counts_each_users_idle_keys_and_names_their_findings(keys):
    rows = {row["user_name"]: row for row in population(keys.repository, SETTINGS, JUNE).rows}
    assert rows["kim"]["verdict"] == "finding: idle_key"
    assert rows["kim"]["finding_id"] == rows["kim"]["key_finding_ids"] == keys.kim
    assert rows["kim"]["idle_keys"] == 1 and rows["kim"]["finding_outcome"] == "reactivated"
    assert rows["lee"]["verdict"] == "finding: dormant" and rows["lee"]["idle_keys"] == 2
    assert rows["lee"]["key_finding_ids"] is None
    assert rows["lee"]["finding_outcome"] == "removed, keys deleted"


@pytest.mark.process
def test_the_terminal_exports_key_findings_as_csv(keys, database_url, tmp_path):
    june = ("--since", "2026-06-01", "--until", "2026-06-30")
    done = run_bot("export", *june, cwd=tmp_path, DATABASE_URL=database_url)
    assert done.returncode == 0, done.stderr
    described, rows = read_csv(done.stdout)
    assert ["# key_idle_days", "45"] in described and ["# key_actions", "deactivate"] in described
    (reactivated,) = [row for row in rows if row["action"] == "reactivated"]
    assert (
        reactivated["key_id"] == "AKIA0000000000000000"
        and reactivated["aws_request_id"] == "req-kim-on"
    )
    assert "idle keys: 1 deactivated" in done.stderr
    everyone = run_bot(
        "export", "--population", "--since", "2026-06-01", cwd=tmp_path, DATABASE_URL=database_url
    )
    _described, users = read_csv(everyone.stdout)
    assert {row["user_name"]: row["idle_keys"] for row in users} == {"kim": "1", "lee": "2"}


# --- through the production HTTP path: what the decision service really records -----------------

ALL_TIME = Period(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def test_a_deactivation_and_its_undo_through_slack_are_exported_with_aws_request_ids(
    key_bot,  # noqa: F811 (the fixture)
    key_calls,
):
    finding_id = deactivated(key_bot)
    key_bot.open_home(OWNER_ID)
    key_bot.home_click(ActionId.REACTIVATE, finding_id, OWNER_ID)
    _described, rows = read_csv(export(key_bot.repository, Settings(), ALL_TIME).csv())
    steps = {row["action"]: row for row in rows if row["finding_id"] == finding_id}
    ((key_id, _status), *_) = key_calls
    off, on = steps["disabled"], steps["reactivated"]
    assert off["key_id"] == on["key_id"] == key_id and on["outcome"] == "reactivated"
    assert off["aws_request_id"] and on["aws_request_id"]  # UpdateAccessKey's, as AWS answered
    assert off["aws_request_id"] != on["aws_request_id"]
    assert [key["key_id"] for key in json.loads(on["keys"])] == [key_id]
    assert json.loads(off["keys"])[0]["aws_request_id"] == off["aws_request_id"]
    assert steps["reactivating"]["actor"] == on["actor"] == OWNER_ID  # who, and when
    assert on["event_at"] >= off["event_at"] and off["surface"] == "slack-dm"
