"""The ASFF document of a finding (bot/domain/asff.py): what Security Hub requires of it, checked
against botocore's model of BatchImportFindings, and how it follows the finding's state and risk."""

from __future__ import annotations

from datetime import datetime, timedelta

import botocore.session
import pytest
from botocore.validate import ParamValidator

from bot.application.decisions import DRY_RUN_REASON
from bot.domain import asff
from bot.domain.asff import Hub, document
from bot.domain.risk import by_risk
from bot.domain.workflow import CLOSED_STATES, State
from storage.models import Finding
from tests.unit.test_messages import NOW, row

HUB = Hub("999988887777", "eu-west-1")
LABELS = ("CRITICAL", "HIGH", "MEDIUM", "LOW")  # Security Hub's, most severe first


def imports(*documents: dict) -> None:
    """What botocore would send, or its own refusal (required fields, types, lengths)."""
    model = botocore.session.get_session().get_service_model("securityhub")
    shape = model.operation_model("BatchImportFindings").input_shape
    report = ParamValidator().validate({"Findings": list(documents)}, shape)
    assert not report.has_errors(), report.generate_report()


def parsed(text: str) -> datetime:
    assert text.endswith("Z")
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() == timedelta(0)
    return moment


def test_a_finding_has_every_field_security_hub_requires():
    finding = row("ann", last_seen=NOW + timedelta(days=1), user_id="AIDAANN")
    sent = document(finding, HUB, NOW + timedelta(days=2))
    imports(sent)
    assert sent["SchemaVersion"] == "2018-10-08"
    assert (
        sent["ProductArn"]
        == "arn:aws:securityhub:eu-west-1:999988887777:product/999988887777/default"
    )
    assert sent["AwsAccountId"] == "999988887777"  # the caller's: a default product's rule
    assert sent["Id"] == f"iam-inactive/111122223333/{finding.id}"
    assert sent["GeneratorId"] == asff.GENERATOR_ID
    assert parsed(sent["CreatedAt"]) == parsed(sent["FirstObservedAt"]) == NOW
    assert parsed(sent["LastObservedAt"]) == NOW + timedelta(days=1)
    assert parsed(sent["UpdatedAt"]) == NOW + timedelta(days=2)
    assert "ann" in sent["Title"] and "111122223333" in sent["Description"]
    assert all(
        kind.startswith("Software and Configuration Checks/Industry and Regulatory Standards/")
        for kind in sent["Types"] + sent["FindingProviderFields"]["Types"]
    )
    (resource,) = sent["Resources"]
    assert resource["Type"] == "AwsIamUser" and resource["Id"] == finding.user_arn
    assert resource["Details"]["AwsIamUser"] == {
        "UserName": "ann",
        "UserId": "AIDAANN",
        "CreateDate": asff.timestamp(finding.user_created),
        "Path": "/",
    }
    assert "CIS AWS Foundations Benchmark v1.4.0/1.12" in sent["Compliance"]["RelatedRequirements"]
    assert sent["Severity"] == sent["FindingProviderFields"]["Severity"]
    assert sent["ProductFields"]["iam-inactive/FindingId"] == finding.id
    assert all(isinstance(value, str) and value for value in sent["ProductFields"].values())


def test_the_id_stays_while_the_finding_moves():
    finding = row("ann")
    ids = {
        document(row("ann", id=finding.id, state=state), HUB, NOW + timedelta(hours=hours))["Id"]
        for hours, state in enumerate(State)
    }
    assert ids == {asff.finding_id(finding)}
    assert asff.finding_id(row("ann", id="f" * 32)) not in ids  # found again: a new finding


@pytest.mark.parametrize(
    ("state", "workflow"),
    [
        (State.OPEN, "NEW"),
        (State.DISABLE_REQUESTED, "NOTIFIED"),
        (State.AWAITING_OWNER, "NOTIFIED"),
        (State.OWNER_CONFIRMED, "NOTIFIED"),
        (State.DISABLING, "NOTIFIED"),
        (State.FAILED, "NOTIFIED"),
        (State.KEPT, "SUPPRESSED"),
        (State.DISABLED, "RESOLVED"),
        (State.RESOLVED, "RESOLVED"),
        (State.ABORTED, "RESOLVED"),
    ],
)
def test_the_workflow_and_record_state_follow_the_finding(state, workflow):
    sent = document(row("ann", state=state, resolution="user deleted"), HUB, NOW)
    closed = state in CLOSED_STATES
    assert sent["Workflow"] == {"Status": workflow}
    assert sent["RecordState"] == ("ARCHIVED" if closed else "ACTIVE")
    assert sent["Compliance"]["Status"] == ("PASSED" if closed else "FAILED")
    assert f"State in iam-inactive: {state}" in sent["Description"]


def test_every_state_has_a_workflow_status():
    assert set(asff.WORKFLOW) == set(State)


def test_severity_follows_the_risk_order():
    findings = [
        row("plain", privileged=False, mfa_active=True),
        row("no-mfa", privileged=False, mfa_active=False),
        row("admin", privileged=True, mfa_active=True),
        row("admin-no-mfa", privileged=True, mfa_active=None),
    ]
    labels = [document(f, HUB, NOW)["Severity"]["Label"] for f in sorted(findings, key=by_risk)]
    assert labels == list(LABELS)


def test_the_longest_names_stay_within_security_hub_s_limits():
    name = "u" * 64
    finding = row(
        name,
        account_id="444455556666",
        user_arn=f"arn:aws-us-gov:iam::444455556666:user/{'p/' * 200}{name}",
        resolution="r" * 5000,
        owner="o" * 300 + "@example.com",
        kept_until=NOW + timedelta(days=30),
    )
    sent = document(finding, Hub("999988887777", "us-gov-west-1", "aws-us-gov"), NOW)
    imports(sent)
    assert len(sent["Title"]) <= asff.TITLE_MAX and len(sent["Description"]) <= 1024
    assert sent["ProductArn"].startswith("arn:aws-us-gov:securityhub:us-gov-west-1:")
    (resource,) = sent["Resources"]
    assert resource["Partition"] == "aws-us-gov"
    assert resource["Details"]["AwsIamUser"]["Path"] == "/" + "p/" * 200
    assert len(sent["ProductFields"]) <= 50


def test_a_password_never_used_says_so():
    sent = document(row("ann", password_last_used=None, days_idle=300), HUB, NOW)
    assert "was never used, and was set 300 days ago" in sent["Description"]


KEY_MADE = NOW - timedelta(days=400)


def key_row(name: str = "ann", **changes) -> Finding:
    """An idle_key finding as the scan records it: the key's creation, its last use as the
    finding's, the user's keys in its facts."""
    used = changes.pop("key_used", NOW - timedelta(days=100))
    recorded = {
        "active": True,
        "last_used": used and used.isoformat(),
        "key_id": None,
        "created": KEY_MADE.isoformat(),
        "last_used_service": "s3" if used else None,
    }
    values = dict(
        category="idle_key",
        fully_inactive=False,
        days_idle=100,
        key_created=KEY_MADE,
        newest_key_used=used,
        facts={"keys": [recorded], "idle_keys": []},
    )
    return row(name, **{**values, **changes})


def test_an_idle_key_is_an_access_key_resource_with_an_id_of_its_own():
    password = row("ann", user_id="AIDAANN")
    key = key_row("ann", id="k" * 32, user_id="AIDAANN")
    sent = document(key, HUB, NOW)
    imports(sent)
    assert (
        sent["Id"] == f"iam-inactive/111122223333/{'k' * 32}" != document(password, HUB, NOW)["Id"]
    )
    assert sent["GeneratorId"] == asff.KEY_GENERATOR_ID != asff.GENERATOR_ID
    assert sent["Title"] == (
        f"Idle IAM access key: key created {KEY_MADE:%Y-%m-%d} of ann (111122223333)"
    )
    assert sent["Description"].startswith(
        f"The active access key key created {KEY_MADE:%Y-%m-%d} of IAM user ann in account "
        "111122223333 was last used 100 days ago (with s3)."
    )
    assert "access key" in sent["Remediation"]["Recommendation"]["Text"]
    assert "CIS AWS Foundations Benchmark v1.4.0/1.12" in sent["Compliance"]["RelatedRequirements"]
    key_resource, user_resource = sent["Resources"]
    assert key_resource["Type"] == "AwsIamAccessKey"
    assert key_resource["Id"] == f"{key.user_arn}/access-key/created-{asff.timestamp(KEY_MADE)}"
    assert key_resource["Details"]["AwsIamAccessKey"] == {
        "PrincipalName": "ann",
        "PrincipalType": "IAMUser",
        "PrincipalId": "AIDAANN",
        "AccountId": "111122223333",
        "CreatedAt": asff.timestamp(KEY_MADE),
        "Status": "Active",
    }
    assert user_resource["Type"] == "AwsIamUser" and user_resource["Id"] == key.user_arn
    assert sent["ProductFields"]["iam-inactive/KeyCreated"] == asff.timestamp(KEY_MADE)


def test_a_key_once_known_by_its_id_is_named_by_it_and_its_status_follows_the_finding():
    finding = key_row("ann", key_id="AKIAANNKEY0000000001", key_used=None)
    held = [{"key_id": "AKIAANNKEY0000000001", "created": "2026-01-01T00:00:00+00:00"}]
    for state, deactivated, status in [
        (State.OPEN, None, "Active"),
        (State.DISABLED, held, "Inactive"),
        (State.DISABLED, None, "Active"),  # a dry run's, or one no longer its own (keys_left)
        (State.REACTIVATING, held, "Inactive"),
        (State.REACTIVATED, None, "Active"),
        (State.KEYS_DELETED, None, "Active"),
    ]:
        fields = {**_fields(finding), "state": state, "deactivated_keys": deactivated}
        sent = document(row("ann", **fields), HUB, NOW)
        imports(sent)
        details = sent["Resources"][0]["Details"]["AwsIamAccessKey"]
        assert sent["Resources"][0]["Id"] == details["AccessKeyId"] == "AKIAANNKEY0000000001"
        assert details["Status"] == status, state
    assert "was never used, and was created 100 days ago" in sent["Description"]
    assert "AKIAANNKEY0000000001 of ann" in sent["Title"]


def _fields(finding: Finding) -> dict:
    names = ("category", "days_idle", "key_created", "key_id", "newest_key_used", "facts")
    return {name: getattr(finding, name) for name in names}


def test_an_administrators_idle_key_is_critical_whatever_the_users_mfa():
    sent = document(key_row("root-ish", privileged=True, mfa_active=True), HUB, NOW)
    assert sent["Severity"] == {"Label": "CRITICAL", "Original": "privileged, no MFA on keys"}
    assert (
        document(row("root-ish", privileged=True, mfa_active=True), HUB, NOW)["Severity"]["Label"]
        == "HIGH"
    )


def test_a_password_finding_says_how_many_idle_keys_its_removal_deactivates():
    riding = [{"active": True, "last_used": None, "key_id": None, "created": NOW.isoformat()}] * 2
    sent = document(row("ann", facts={"keys": riding, "idle_keys": riding}), HUB, NOW)
    imports(sent)
    assert "Its removal also deactivates 2 idle access key(s)." in sent["Description"]
    assert sent["ProductFields"]["iam-inactive/IdleKeys"] == "2"
    assert [r["Type"] for r in sent["Resources"]] == ["AwsIamUser"]


def test_security_hub_words_a_password_set_again_as_set_not_last_used():
    finding = row(
        "ann",
        password_last_used=NOW - timedelta(days=400),
        password_last_changed=NOW - timedelta(days=100),
        days_idle=100,
    )
    sent = document(finding, Hub("111122223333", "us-east-1"), NOW)
    assert "was set again 100 days ago and not used since" in sent["Description"]


def test_a_dry_run_removal_is_not_published_as_compliant_and_archived():
    """A dry run's "removal" called nothing: the idle password is still there."""
    finding = row(
        "ann",
        state=State.DISABLED,
        requested_dry_run=True,
        decision_note=DRY_RUN_REASON,
        closed_at=NOW,
    )
    sent = document(finding, HUB, NOW)
    imports(sent)
    assert (sent["Compliance"]["Status"], sent["RecordState"]) == ("FAILED", "ACTIVE")
    assert sent["Workflow"]["Status"] == "NOTIFIED"
