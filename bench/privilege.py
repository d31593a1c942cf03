"""Privilege verdicts compared (issue 22): this project, PMapper and cloudsplaining on the crafted
account of tests/support/privilege_account.py, each case's expected verdict beside theirs.

PMapper and cloudsplaining run in virtualenvs of their own (their dependencies are not the
bot's): `.venv-pmapper` (principalmapper, moto[server], boto3) and `.venv-cloudsplaining`
(cloudsplaining). The bot's verdicts come from the bulk call on the account seeded in moto;
cloudsplaining reads that account's GetAccountAuthorizationDetails as the AWS CLI writes it;
PMapper builds its graph from a moto server of its own (bench.privilege_pmapper).

    .venv/bin/python -m bench.privilege            # prints a Markdown table
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from bot.aws import iam as aws
from bot.aws.details import account_details
from bot.domain.paths import judge
from tests.support.privilege_account import cases
from tests.support.privilege_moto import name_policies, seed_moto

ROOT = Path(__file__).resolve().parent.parent
Verdicts = dict[str, tuple[bool, str | None]]


def ours_and_account_details(path: Path) -> tuple[Verdicts, float]:
    """The bot's verdicts on the account (and the seconds its judgement took, the bulk read from
    moto, whose CPU would be most of it, apart);
    the account's details written to `path` as the AWS CLI writes them, for cloudsplaining."""
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        seed_moto(iam)
        started = time.perf_counter()
        identities = aws.identities_of_all_users(iam)
        read_and_judged = time.perf_counter() - started
        account, _ = account_details(iam)
        started = time.perf_counter()
        judge(account)
        seconds = time.perf_counter() - started
        print(
            f"this project: bulk read from moto and judgement {read_and_judged:.3f} s, "
            f"judgement alone {seconds * 1000:.1f} ms",
            file=sys.stderr,
        )
        details: dict[str, Any] = {}
        for page in iam.get_paginator("get_account_authorization_details").paginate():
            for key, value in page.items():
                if isinstance(value, list):
                    details.setdefault(key, []).extend(value)
    name_policies(details)
    path.write_text(json.dumps(details, default=str))
    return {name: (i.privileged is True, i.privilege) for name, i in identities.items()}, seconds


def theirs(venv: str, module: str, *arguments: str) -> tuple[Verdicts, float] | str:
    """A tool's verdicts from its own virtualenv, or why it could not run."""
    python = ROOT / venv / "bin" / "python"
    if not python.exists():
        return f"{venv} not found"
    done = subprocess.run(
        [str(python), "-m", module, *arguments],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        return done.stderr.strip().splitlines()[-1]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    verdicts = {name: (bool(v[0]), v[1]) for name, v in answer["verdicts"].items()}
    return verdicts, answer["seconds"]


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "account-authorization-details.json"
        ours, our_seconds = ours_and_account_details(path)
        tools: dict[str, tuple[Verdicts, float] | str] = {
            "this project": (ours, our_seconds),
            "PMapper": theirs(".venv-pmapper", "bench.privilege_pmapper"),
            "cloudsplaining": theirs(
                ".venv-cloudsplaining", "bench.privilege_cloudsplaining", str(path)
            ),
        }
    everything = cases()
    names = list(tools)
    print("| user | expected | " + " | ".join(names) + " | why (expected) |")
    print("|---|---|" + "---|" * len(names) + "---|")
    right = dict.fromkeys(names, 0)
    for case in everything:
        cells = []
        for name in names:
            result = tools[name]
            if isinstance(result, str):
                cells.append("")
                continue
            got = result[0].get(case.user, (False, None))[0]
            right[name] += got == case.privileged
            cells.append(("yes" if got else "no") + ("" if got == case.privileged else " **x**"))
        expected = "yes" if case.privileged else "no"
        print(f"| {case.user} | {expected} | " + " | ".join(cells) + f" | {case.because} |")
    print()
    for name, result in tools.items():
        if isinstance(result, str):
            print(f"- {name}: could not run: {result}")
        else:
            print(f"- {name}: {right[name]} of {len(everything)} right, {result[1]:.3f} s")


if __name__ == "__main__":
    sys.exit(main())
