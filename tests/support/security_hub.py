"""moto's Security Hub (5.2.5), made to keep the rules of AWS's that the bot relies on and moto
does not: moto has no BatchUpdateFindings, lets BatchImportFindings change a finding's Workflow
after it is created, takes more than 100 findings a call, findings of another account, and
findings while Security Hub is not enabled. Each rule here is AWS's documented behaviour
(docs/operations.md#security-hub names the pages); the rest is moto's own."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.securityhub import urls
from moto.securityhub.exceptions import InvalidInputException, SecurityHubClientError
from moto.securityhub.models import SecurityHubBackend
from moto.securityhub.responses import SecurityHubResponse

MAX_FINDINGS = 100  # BatchImportFindings and BatchUpdateFindings alike
WORKFLOWS = ("NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED")
_moto_import = SecurityHubResponse.batch_import_findings


def _not_enabled(backend: SecurityHubBackend) -> None:
    if not backend.enabled:
        raise SecurityHubClientError(
            "InvalidAccessException", "Account is not subscribed to AWS Security Hub"
        )


def _default_product(response: SecurityHubResponse) -> str:
    account = response.current_account
    return f"arn:aws:securityhub:{response.region}:{account}:product/{account}/default"


def batch_import_findings(self: SecurityHubResponse) -> str:
    backend = self.securityhub_backend
    _not_enabled(backend)
    body = json.loads(self.body)
    findings = body.get("Findings", [])
    if len(findings) > MAX_FINDINGS:
        raise InvalidInputException("BatchImportFindings", "at most 100 findings a request")
    existing = {finding.id: finding.data for finding in backend.findings}
    refused = []
    taken = []
    for finding in findings:
        # a default product's findings are the caller's own
        if finding.get("AwsAccountId") != self.current_account or finding.get(
            "ProductArn"
        ) != _default_product(self):
            refused.append(
                {
                    "Id": finding.get("Id", ""),
                    "ErrorCode": "AccessDeniedException",
                    "ErrorMessage": "not the caller's account or its default product",
                }
            )
            continue
        if finding["Id"] in existing:  # Workflow is set only when a finding is created
            finding = {**finding, "Workflow": existing[finding["Id"]].get("Workflow")}
        taken.append(finding)
    self.body = json.dumps({"Findings": taken})
    answer = json.loads(_moto_import(self))
    answer["FailedCount"] += len(refused)
    answer["FailedFindings"] += refused
    return json.dumps(answer)


def batch_update_findings(self: SecurityHubResponse) -> str:
    backend = self.securityhub_backend
    _not_enabled(backend)
    body = json.loads(self.body)
    identifiers = body.get("FindingIdentifiers", [])
    if len(identifiers) > MAX_FINDINGS:
        raise InvalidInputException("BatchUpdateFindings", "at most 100 findings a request")
    status = body.get("Workflow", {}).get("Status")
    if status is not None and status not in WORKFLOWS:
        raise InvalidInputException("BatchUpdateFindings", f"no workflow status {status}")
    stored = {finding.id: finding.data for finding in backend.findings}
    processed, unprocessed = [], []
    for identifier in identifiers:
        finding = stored.get(identifier["Id"])
        if finding is None or finding["ProductArn"] != identifier["ProductArn"]:
            unprocessed.append(
                {
                    "FindingIdentifier": identifier,
                    "ErrorCode": "FindingNotFound",
                    "ErrorMessage": "Finding Not Found",
                }
            )
            continue
        if status is not None:
            finding["Workflow"] = {"Status": status}
        processed.append(identifier)
    return json.dumps({"ProcessedFindings": processed, "UnprocessedFindings": unprocessed})


def keep_aws_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(urls.url_paths, "{0}/findings/batchupdate$", SecurityHubResponse.dispatch)
    monkeypatch.setattr(SecurityHubResponse, "batch_import_findings", batch_import_findings)
    monkeypatch.setattr(
        SecurityHubResponse, "batch_update_findings", batch_update_findings, raising=False
    )


def findings_of(securityhub: Any) -> dict[str, dict[str, Any]]:
    """Every finding in the hub (GetFindings, every page), by the user's name."""
    found = {}
    for page in securityhub.get_paginator("get_findings").paginate():
        for finding in page["Findings"]:
            found[finding["Resources"][0]["Details"]["AwsIamUser"]["UserName"]] = finding
    return found
