"""Security Hub, in the bot's own account and region: findings imported in ASFF
(BatchImportFindings), then their investigation state set to the bot's (BatchUpdateFindings),
100 findings a call (both operations' limit).

Security Hub takes a finding from a default product only from the account the finding names
(`AwsAccountId`), so every finding, whichever account its user is in, is published where the
bot's own credentials are; the user's account is in the resource's ARN. Throttling
(`LimitExceededException`, 429) is retried by botocore's standard retry mode (CLIENT_CONFIG).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from bot.aws.accounts import client, current_account
from bot.aws.iam import GLOBAL_REGION, describe_error
from bot.domain.asff import Hub

BATCH = 100  # findings a call, for BatchImportFindings and BatchUpdateFindings alike
Document = dict[str, Any]


@dataclass(frozen=True)
class Unpublished:
    """A finding Security Hub did not take (its ASFF Id), and why."""

    id: str
    error: str


class SecurityHub:
    """The bot's own account's Security Hub, reached through the base session (the account
    and region are read once, at the first call)."""

    def __init__(self, base: boto3.Session) -> None:
        self._base = base
        self._lock = threading.Lock()
        self._client: Any = None
        self._hub: Hub | None = None

    def hub(self) -> Hub:
        """Where findings go: the base session's account, in its region (AWS_REGION or
        AWS_DEFAULT_REGION; us-east-1 when neither is set, as for every client of the bot)."""
        with self._lock:
            if self._hub is None:
                region = self._base.region_name or GLOBAL_REGION
                partition = self._base.get_partition_for_region(region)
                self._hub = Hub(current_account(self._base), region, partition)
                self._client = client(self._base, "securityhub")
            return self._hub

    def publish(self, documents: Sequence[Document]) -> list[Unpublished]:
        """Import `documents`, then set each imported finding's Workflow.Status (which
        BatchImportFindings sets only when it creates a finding). What Security Hub did not
        take is returned, not raised."""
        self.hub()
        securityhub = self._client
        failed: dict[str, str] = {}
        imports = [(_ids(batch), _import(securityhub, batch)) for batch in _batches(documents)]
        # Those imported before a call failed part way still need their Workflow.Status.
        _send(imports, failed)
        by_status: dict[str, list[Document]] = {}
        for document in documents:
            if document["Id"] not in failed:
                identifier = {"Id": document["Id"], "ProductArn": document["ProductArn"]}
                by_status.setdefault(document["Workflow"]["Status"], []).append(identifier)
        updates = [
            (_ids(batch), _set_workflow(securityhub, batch, status))
            for status, identifiers in by_status.items()
            for batch in _batches(identifiers)
        ]
        _send(updates, failed)
        return _unpublished(failed)


Call = tuple[list[str], Callable[[], Any]]  # the findings (ASFF Ids) a call is for, and the call


def _import(securityhub: Any, batch: list[Document]) -> Callable[[], Any]:
    return lambda: securityhub.batch_import_findings(Findings=batch)


def _set_workflow(securityhub: Any, batch: list[Document], status: str) -> Callable[[], Any]:
    return lambda: securityhub.batch_update_findings(
        FindingIdentifiers=batch, Workflow={"Status": status}
    )


def _send(calls: list[Call], failed: dict[str, str]) -> None:
    """Make the calls in turn, noting in `failed` each finding Security Hub refused, and why.
    A call that fails (access denied, Security Hub not enabled, throttled beyond botocore's
    retries) fails its findings and those of the calls after it, which are not made: they
    would fail alike."""
    for number, (_for, call) in enumerate(calls):
        try:
            answer = call()
        except (ClientError, BotoCoreError) as error:
            why = describe_error(error)
            for later, _call in calls[number:]:
                failed.update(dict.fromkeys(later, why))
            return
        for refused in answer.get("FailedFindings", []):  # BatchImportFindings
            failed[refused["Id"]] = _refusal(refused)
        for refused in answer.get("UnprocessedFindings", []):  # BatchUpdateFindings
            failed[refused["FindingIdentifier"]["Id"]] = _refusal(refused)


def _refusal(refused: dict[str, Any]) -> str:
    return f"{refused.get('ErrorCode', 'Error')}: {refused.get('ErrorMessage', '')}"


def _unpublished(failed: dict[str, str]) -> list[Unpublished]:
    return [Unpublished(finding, why) for finding, why in failed.items()]


def _ids(batch: list[Document]) -> list[str]:
    return [item["Id"] for item in batch]


def _batches(items: Sequence[Document]) -> Iterator[list[Document]]:
    for start in range(0, len(items), BATCH):
        yield list(items[start : start + BATCH])
