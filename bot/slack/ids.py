"""Every Slack action id, callback id and block id, in one place.

Message builders and listeners both import these, so a typo is an AttributeError, not a button
that silently does nothing.
"""

from __future__ import annotations

from enum import StrEnum


class ActionId(StrEnum):
    DISABLE = "finding_disable"
    KEEP = "finding_keep"
    DECIDE_NOW = "finding_decide_now"
    UNKEEP = "finding_unkeep"
    REACTIVATE = "finding_reactivate"  # turns back on the access keys a removal deactivated
    OWNER_CONFIRM = "owner_confirm"
    OWNER_DECLINE = "owner_decline"
    LIST_PREVIOUS = "list_previous"
    LIST_NEXT = "list_next"
    HOME_SCAN = "home_scan"
    HOME_DIGEST = "home_digest"


class CallbackId(StrEnum):
    KEEP = "keep_view"
    CONFIRM = "confirm_view"
    UNKEEP = "unkeep_view"


class BlockId(StrEnum):
    KEEP_REASON = "keep_reason"
    KEEP_PERIOD = "keep_period"
    UNKEEP_REASON = "unkeep_reason"
    HOME_APPROVER = "home_approver"


class InputId(StrEnum):
    KEEP_REASON = "keep_reason_input"
    KEEP_PERIOD = "keep_period_select"
    UNKEEP_REASON = "unkeep_reason_input"


COMMAND = "/iam-inactive"
