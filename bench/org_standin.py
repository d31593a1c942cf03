"""A stand-in for AWS at Organization scale: every answer pre-rendered, each after a delay.

Serves what an Organization-wide scan asks (STS GetCallerIdentity and AssumeRole,
Organizations ListAccounts, IAM GenerateCredentialReport, GetCredentialReport and
GetAccountAuthorizationDetails) for ACCOUNTS accounts of USERS users each, a fifth of them idle,
with groups, roles and AWS managed policies (bench.org_iam),
answering every request after DELAY seconds. moto would spend about 0.4 ms of CPU per user on
the bulk tag call alone, which on this machine would be the benchmark's real subject; here each
answer is rendered once, before the clock starts. The account a request is for is read from
its access key (AssumeRole hands out ASIA<account id>).

    python -m bench.org_standin ACCOUNTS USERS DELAY   # prints the port, serves until stdin closes
"""

from __future__ import annotations

import base64
import json
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from bench.org_iam import aws_managed_policies, groups_and_roles, user_grants
from tests.unit.test_report import HEADER as REPORT_HEADER

MANAGEMENT = "000000000000"
ORGANIZATION_PAGE = 20  # ListAccounts' largest page
IDLE_EVERY = 5  # one user in five has an idle console password
IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
ACCESS_KEY = re.compile(r"Credential=([A-Z0-9]+)/")
AWS_POLICIES = "GetAccountAuthorizationDetails with Filter=AWSManagedPolicy"


def account_ids(accounts: int) -> list[str]:
    """The management account, then its members."""
    return [MANAGEMENT] + [f"{100000000000 + number:012d}" for number in range(1, accounts)]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _query(action: str, namespace: str, result: str) -> bytes:
    return (
        f'<{action}Response xmlns="{namespace}"><{action}Result>{result}</{action}Result>'
        f"<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{action}Response>"
    ).encode()


def render_account(account_id: str, users: int, now: datetime) -> dict[str, bytes]:
    """The IAM answers of one account."""
    created = _iso(now - timedelta(days=900))
    rows, members = (
        [
            REPORT_HEADER,
            f"<root_account>,arn:aws:iam::{account_id}:root,{created},not_supported,{_iso(now)},not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
        ],
        [],
    )
    for number in range(users):
        name = f"user-{number:04d}"
        arn = f"arn:aws:iam::{account_id}:user/{name}"
        used = now - timedelta(days=200 if number % IDLE_EVERY == 0 else 3)
        rows.append(
            f"{name},{arn},{created},true,{_iso(used)},{created},N/A,false,true,{created},"
            f"{_iso(used)},us-east-1,iam,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A"
        )
        members.append(
            f"<member><Path>/</Path><UserName>{name}</UserName><UserId>AIDA{account_id}{number:06d}"
            f"</UserId><Arn>{arn}</Arn><CreateDate>{created}</CreateDate>{user_grants(number)}"
            "<Tags><member><Key>owner</Key>"
            f"<Value>{name}@example.com</Value></member></Tags></member>"
        )
    report = base64.b64encode("\n".join(rows).encode()).decode()
    return {
        "GenerateCredentialReport": _query(
            "GenerateCredentialReport",
            IAM_NS,
            "<State>COMPLETE</State><Description>done</Description>",
        ),
        "GetCredentialReport": _query(
            "GetCredentialReport",
            IAM_NS,
            f"<Content>{report}</Content><ReportFormat>text/csv</ReportFormat>"
            f"<GeneratedTime>{_iso(now)}</GeneratedTime>",
        ),
        "GetAccountAuthorizationDetails": _query(
            "GetAccountAuthorizationDetails",
            IAM_NS,
            f"<IsTruncated>false</IsTruncated><UserDetailList>{''.join(members)}</UserDetailList>"
            f"{groups_and_roles(account_id, created)}<Policies/>",
        ),
        AWS_POLICIES: _query(
            "GetAccountAuthorizationDetails",
            IAM_NS,
            "<IsTruncated>false</IsTruncated><UserDetailList/><GroupDetailList/>"
            f"<RoleDetailList/><Policies>{aws_managed_policies(created)}</Policies>",
        ),
    }


def render_organization(ids: list[str]) -> list[bytes]:
    pages = []
    for start in range(0, len(ids), ORGANIZATION_PAGE):
        accounts = [
            {
                "Id": account_id,
                "Arn": f"arn:aws:organizations::{MANAGEMENT}:account/o-bench/{account_id}",
                "Email": f"{account_id}@example.com",
                "Name": f"account-{account_id[-4:]}",
                "Status": "ACTIVE",
                "JoinedMethod": "CREATED",
                "JoinedTimestamp": 1.6e9,
            }
            for account_id in ids[start : start + ORGANIZATION_PAGE]
        ]
        page: dict[str, Any] = {"Accounts": accounts}
        if start + ORGANIZATION_PAGE < len(ids):
            page["NextToken"] = str(start + ORGANIZATION_PAGE)
        pages.append(json.dumps(page).encode())
    return pages


def serve(accounts: int, users: int, delay: float) -> ThreadingHTTPServer:
    now = datetime.now(UTC)
    ids = account_ids(accounts)
    answers = {account_id: render_account(account_id, users, now) for account_id in ids}
    organization = render_organization(ids)
    expires = _iso(now + timedelta(hours=1))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            time.sleep(delay)
            target = self.headers.get("X-Amz-Target", "")
            if target.endswith("ListAccounts"):
                token = json.loads(body or b"{}").get("NextToken", "0")
                self.answer(
                    organization[int(token) // ORGANIZATION_PAGE], "application/x-amz-json-1.1"
                )
                return
            action = parse_qs(body.decode())["Action"][0]
            key = ACCESS_KEY.search(self.headers.get("Authorization", ""))
            account = key.group(1)[4:] if key and key.group(1).startswith("ASIA") else MANAGEMENT
            if action == "GetCallerIdentity":
                result = (
                    f"<Arn>arn:aws:iam::{account}:user/bench</Arn><UserId>AIDABENCH</UserId>"
                    f"<Account>{account}</Account>"
                )
                self.answer(_query(action, STS_NS, result))
            elif action == "AssumeRole":
                member = parse_qs(body.decode())["RoleArn"][0].split(":")[4]
                result = (
                    f"<Credentials><AccessKeyId>ASIA{member}</AccessKeyId><SecretAccessKey>s"
                    f"</SecretAccessKey><SessionToken>t</SessionToken><Expiration>{expires}"
                    "</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROA:bench"
                    f"</AssumedRoleId><Arn>arn:aws:sts::{member}:assumed-role/r/bench</Arn>"
                    "</AssumedRoleUser>"
                )
                self.answer(_query(action, STS_NS, result))
            elif action == "GetAccountAuthorizationDetails" and b"AWSManagedPolicy" in body:
                self.answer(answers[account][AWS_POLICIES])
            else:
                self.answer(answers[account][action])

        def answer(self, body: bytes, content_type: str = "text/xml") -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    return server


def main() -> None:
    accounts, users, delay = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    server = serve(accounts, users, delay)
    print(server.server_port, flush=True)
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
