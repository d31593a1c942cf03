"""A finding as Security Hub reads it: the AWS Security Finding Format (ASFF).

Pure: one document per recorded finding, from the finding as stored and where it is published
(bot/aws/securityhub.py sends them; bot/application/security_hub.py decides when).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.domain.access_keys import finding_key, key_name, riding_keys
from bot.domain.clock import as_utc
from bot.domain.records import FindingView
from bot.domain.risk import Risk, finding_risk, finding_risk_label, user_path
from bot.domain.workflow import CARRIED_OUT, CLOSED_STATES, KEYS_HELD, State

SCHEMA_VERSION = "2018-10-08"
PRODUCT_NAME = "iam-inactive"
# One generator a rule (docs/detection-rule.md): Security Hub groups findings by it.
GENERATOR_ID = "iam-inactive/idle-console-password"
KEY_GENERATOR_ID = "iam-inactive/idle-access-key"
TYPES = (
    "Software and Configuration Checks/Industry and Regulatory Standards/"
    "CIS AWS Foundations Benchmark",
)
# The CIS control the rule serves ("credentials unused for 45 days or more are disabled"), as
# Security Hub's own CIS findings name one: 1.3 in v1.2.0 (90 days then), 1.12 from v1.4.0 to
# v3.0.0, 2.11 in v6.0.0 (the IAM section moved).
RELATED_REQUIREMENTS = (
    "CIS AWS Foundations Benchmark v1.2.0/1.3",
    "CIS AWS Foundations Benchmark v1.4.0/1.12",
    "CIS AWS Foundations Benchmark v3.0.0/1.12",
    "CIS AWS Foundations Benchmark v6.0.0/2.11",
)
# The risk order (bot/domain/risk.py), most urgent first, as Security Hub's labels.
SEVERITY = {
    Risk.PRIVILEGED_WITHOUT_MFA: "CRITICAL",
    Risk.PRIVILEGED: "HIGH",
    Risk.WITHOUT_MFA: "MEDIUM",
    Risk.OTHER: "LOW",
}
# Security Hub's investigation states: NEW before anyone decided, NOTIFIED while a decision or
# the owner's consent is under way (or failed and waits for another), SUPPRESSED while kept.
WORKFLOW = {
    State.OPEN: "NEW",
    State.DISABLE_REQUESTED: "NOTIFIED",
    State.AWAITING_OWNER: "NOTIFIED",
    State.OWNER_CONFIRMED: "NOTIFIED",
    State.DISABLING: "NOTIFIED",
    State.FAILED: "NOTIFIED",
    State.KEPT: "SUPPRESSED",
    State.DISABLED: "RESOLVED",
    State.RESOLVED: "RESOLVED",
    State.ABORTED: "RESOLVED",
    # A deactivated key turned back on (or deleted) closes nothing more: the finding was
    # resolved when its keys were deactivated.
    State.REACTIVATING: "RESOLVED",
    State.REACTIVATED: "RESOLVED",
    State.DELETING_KEYS: "RESOLVED",
    State.KEYS_DELETED: "RESOLVED",
}
TITLE_MAX, DESCRIPTION_MAX = 256, 1024  # Security Hub refuses longer ones
REMEDIATION = (
    "Remove the idle console password (iam-inactive asks the approvers and the owner in Slack), "
    "or keep it with a reason."
)
KEY_REMEDIATION = (
    "Deactivate the idle access key (iam-inactive asks the approvers and the owner in Slack, and "
    "the owner can reactivate it for a while), or keep it with a reason."
)


@dataclass(frozen=True)
class Hub:
    """Where findings are published: the bot's own account and region (a default product
    accepts only the caller's own findings)."""

    account_id: str
    region: str
    partition: str = "aws"

    @property
    def product_arn(self) -> str:
        return (
            f"arn:{self.partition}:securityhub:{self.region}:{self.account_id}:"
            f"product/{self.account_id}/default"
        )


def finding_id(finding: FindingView) -> str:
    """Stable for the finding's whole life: a user found again is a new finding, and a new id;
    each idle key is a finding of its own, with an id of its own."""
    return f"{PRODUCT_NAME}/{finding.account_id}/{finding.id}"


def workflow_status(state: str) -> str:
    return WORKFLOW[State(state)]


def document(finding: FindingView, hub: Hub, now: datetime) -> dict[str, Any]:
    """The ASFF document of `finding` as it is `now`."""
    state = State(finding.state)
    # A removal made in a dry run removed nothing: the idle credential is still there, and no
    # new finding opens for it while DRY_RUN stays on.
    in_dry_run = state in CARRIED_OUT and bool(finding.requested_dry_run)
    closed = state in CLOSED_STATES and not in_dry_run
    key = finding_key(finding)
    severity = {
        "Label": SEVERITY[finding_risk(finding)],
        "Original": finding_risk_label(finding) or "not privileged, MFA on",
    }
    if key is None:
        title = f"Idle IAM console password: {finding.user_name} ({finding.account_id})"
    else:
        title = (
            f"Idle IAM access key: {key_name(key, UTC)} of {finding.user_name} "
            f"({finding.account_id})"
        )
    return {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(finding),
        "ProductArn": hub.product_arn,
        "ProductName": PRODUCT_NAME,
        "GeneratorId": GENERATOR_ID if key is None else KEY_GENERATOR_ID,
        "AwsAccountId": hub.account_id,
        "Types": list(TYPES),
        "CreatedAt": timestamp(finding.first_seen),
        "FirstObservedAt": timestamp(finding.first_seen),
        "LastObservedAt": timestamp(finding.last_seen),
        "UpdatedAt": timestamp(now),
        "Severity": severity,
        # Severity and Types change through these once the finding exists (Security Hub's rule
        # for finding providers); the top-level ones are read when it is created.
        "FindingProviderFields": {"Severity": severity, "Types": list(TYPES)},
        "Title": _at_most(title, TITLE_MAX),
        "Description": _at_most(_description(finding, key), DESCRIPTION_MAX),
        "Remediation": {
            "Recommendation": {"Text": REMEDIATION if key is None else KEY_REMEDIATION}
        },
        "ProductFields": _product_fields(finding, key),
        "Resources": [
            *([_key_resource(finding, key, hub)] if key else []),
            _resource(finding, hub),
        ],
        "Compliance": {
            "Status": "PASSED" if closed else "FAILED",
            "RelatedRequirements": list(RELATED_REQUIREMENTS),
        },
        "Workflow": {"Status": "NOTIFIED" if in_dry_run else workflow_status(state)},
        "RecordState": "ARCHIVED" if closed else "ACTIVE",
    }


def timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the millisecond: the form Security Hub's examples use."""
    return as_utc(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _description(finding: FindingView, key: dict[str, Any] | None) -> str:
    if key is not None:
        service = f" (with {key['last_used_service']})" if key["last_used_service"] else ""
        idle = (
            f"was last used {finding.days_idle} days ago{service}"
            if key["last_used"]
            else f"was never used, and was created {finding.days_idle} days ago"
        )
        what = (
            f"The active access key {key_name(key, UTC)} of IAM user {finding.user_name} "
            f"in account {finding.account_id} {idle}."
        )
    else:
        used, changed = finding.password_last_used, finding.password_last_changed
        if used and not (changed and changed > used):
            idle = f"was last used {finding.days_idle} days ago"
        elif used:  # counted from when it was set: PasswordLastUsed was the earlier password's
            idle = f"was set again {finding.days_idle} days ago and not used since"
        else:
            idle = f"was never used, and was set {finding.days_idle} days ago"
        keys = (
            "an active access key was used recently, so the user works through keys"
            if finding.category == "keys_only"
            else "no active access key was used recently"
        )
        riding = len(riding_keys(finding))
        what = (
            f"The console password of IAM user {finding.user_name} in account "
            f"{finding.account_id} {idle}; {keys}."
            + (f" Its removal also deactivates {riding} idle access key(s)." if riding else "")
        )
    risk_words = finding_risk_label(finding)
    text = (
        what
        + (f" Risk: {risk_words}." if risk_words else "")
        + f" State in iam-inactive: {finding.state}"
        + (f" ({finding.resolution})" if finding.resolution else "")
        + "."
    )
    return text


def _product_fields(finding: FindingView, key: dict[str, Any] | None) -> dict[str, str]:
    fields = {
        "iam-inactive/FindingId": finding.id,
        "iam-inactive/AccountId": finding.account_id,
        "iam-inactive/State": finding.state,
        "iam-inactive/Category": finding.category,
        "iam-inactive/DaysIdle": str(finding.days_idle),
        "iam-inactive/Owner": finding.owner or "",
        "iam-inactive/KeptUntil": (timestamp(finding.kept_until) if finding.kept_until else ""),
        "iam-inactive/Resolution": finding.resolution or "",
        "iam-inactive/KeyId": (key or {}).get("key_id") or "",
        "iam-inactive/KeyCreated": timestamp(finding.key_created) if finding.key_created else "",
        "iam-inactive/IdleKeys": str(len(riding_keys(finding)) or ""),
    }
    return {key: value for key, value in fields.items() if value}


def _resource(finding: FindingView, hub: Hub) -> dict[str, Any]:
    user: dict[str, Any] = {
        "UserName": finding.user_name,
        "CreateDate": timestamp(finding.user_created),
        "Path": user_path(finding.user_arn),
    }
    if finding.user_id:
        user["UserId"] = finding.user_id
    return {
        "Type": "AwsIamUser",
        "Id": finding.user_arn,
        "Partition": finding.user_arn.split(":", 2)[1],
        "Region": hub.region,  # IAM is global: the region the finding is published in
        "Details": {"AwsIamUser": user},
    }


def _key_resource(finding: FindingView, key: dict[str, Any], hub: Hub) -> dict[str, Any]:
    """An idle key as Security Hub's AwsIamAccessKey: named by its id when known (as GuardDuty
    names one), else by its user's ARN and when it was made, which is what names it until the
    bot acts on it. Inactive once the bot deactivated it and while nobody turned it back on."""
    assert finding.key_created is not None  # finding_key said it is a key's finding
    made = timestamp(finding.key_created)
    holds_key = State(finding.state) in KEYS_HELD and bool(finding.deactivated_keys)
    details: dict[str, Any] = {
        "PrincipalName": finding.user_name,
        "PrincipalType": "IAMUser",
        "AccountId": finding.account_id,
        "CreatedAt": made,
        # Inactive while this finding holds the key it deactivated: not after a dry run, nor
        # once it was turned back on in IAM or taken over by a later finding (`keys_left`).
        "Status": "Inactive" if holds_key else "Active",
    }
    if key["key_id"]:
        details["AccessKeyId"] = key["key_id"]
    if finding.user_id:
        details["PrincipalId"] = finding.user_id
    return {
        "Type": "AwsIamAccessKey",
        "Id": key["key_id"] or f"{finding.user_arn}/access-key/created-{made}",
        "Partition": finding.user_arn.split(":", 2)[1],
        "Region": hub.region,
        "Details": {"AwsIamAccessKey": details},
    }


def _at_most(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"
