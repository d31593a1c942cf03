"""Findings compared: this project's terminal scan, Prowler and Cloud Custodian on one moto
account seeded with named cases of the detection rule (docs/detection-rule.md), each case's
expected verdict beside theirs.

Prowler and Cloud Custodian run in virtualenvs of their own (their dependencies are not the
bot's): `.venv-prowler` (prowler) and `.venv-custodian` (c7n). All three are whole processes
against the same moto server (bench.serving: seeded in a process of its own, from this
project's moto), reached through AWS_ENDPOINT_URL with fake credentials in us-east-1; each is
timed, wall seconds of the whole process, the median of --runs runs. The server dates its
credential report when asked, not 2015 as moto does, and has one ready before the first tool
runs (bench.findings_account).

Thresholds: 90 days for a console password, 45 for an Active access key, in each tool's own
terms: the bot's defaults (CONSOLE_IDLE_DAYS, KEY_IDLE_DAYS); Prowler's `max_console_access_days`
and `max_unused_access_keys_days` in a config file (--config-file); Custodian's `credential`
filter on `password_last_used` and `access_keys.last_used_date`, `value_type: age`.

    .venv/bin/python -m bench.findings_peers              # prints a Markdown table
    .venv/bin/python -m bench.findings_peers --runs 1
"""

from __future__ import annotations

import argparse
import compileall
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.findings_account import CASES, CONSOLE_DAYS, KEY_DAYS
from bench.serving import served
from bot.domain.rule import IDLE_KEY
from tests.support.processes import bot_env

ROOT = Path(__file__).resolve().parents[1]
# --- the tools, each a whole process; a verdict is (console finding, key finding) a user ---

Verdicts = dict[str, tuple[bool, bool]]


@dataclass
class Command:
    """A tool's process: its arguments and environment, and how to read its verdicts once it
    has run (from its standard output or from the files it wrote)."""

    argv: list[str]
    env: dict[str, str]
    verdicts: Callable[[str], Verdicts]


CUSTODIAN_POLICIES = f"""
policies:
  - name: console-unused
    resource: iam-user
    filters:
      - type: credential
        key: password_enabled
        value: true
      - type: credential
        key: password_last_used
        value_type: age
        value: {CONSOLE_DAYS}
        op: greater-than
  - name: access-key-unused
    resource: iam-user
    filters:
      - type: credential
        key: access_keys.active
        value: true
      - type: credential
        key: access_keys.last_used_date
        value_type: age
        value: {KEY_DAYS}
        op: greater-than
"""


def peer_env(endpoint: str) -> dict[str, str]:
    """A peer's environment: the endpoint, fake credentials, us-east-1, nothing of this
    shell's AWS settings."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": tempfile.gettempdir(),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing-secret-key",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def custodian(endpoint: str, work: Path) -> Command:
    """`custodian run` of the two policies; its verdicts: the users each policy matched
    (OUTDIR/POLICY/resources.json)."""
    policy = work / "custodian.yml"
    policy.write_text(CUSTODIAN_POLICIES)
    out = work / "custodian-out"
    command = [
        str(ROOT / ".venv-custodian" / "bin" / "custodian"),
        "run",
        "--region",
        "us-east-1",
        "--cache-period",
        "0",  # each run reads the report afresh
        "-s",
        str(out),
        str(policy),
    ]

    def verdicts(_stdout: str) -> Verdicts:
        def matched(name: str) -> set[str]:
            resources = json.loads((out / name / "resources.json").read_text())
            return {resource["UserName"] for resource in resources}

        console, key = matched("console-unused"), matched("access-key-unused")
        return {case.user: (case.user in console, case.user in key) for case in CASES}

    return Command(command, peer_env(endpoint), verdicts)


PROWLER_CONFIG = f"""
aws:
  max_console_access_days: {CONSOLE_DAYS}
  max_unused_access_keys_days: {KEY_DAYS}
"""
PROWLER_CHECKS = ("iam_user_console_access_unused", "iam_user_accesskey_unused")


def prowler(endpoint: str, work: Path) -> Command:
    """`prowler aws` with the two checks; its verdicts: the users each check FAILs (its OCSF
    JSON output; a key's finding is named USER/AccessKeyN)."""
    config = work / "prowler.yml"
    config.write_text(PROWLER_CONFIG)
    out = work / "prowler-out"
    command = [
        str(ROOT / ".venv-prowler" / "bin" / "prowler"),
        "aws",
        "--checks",
        *PROWLER_CHECKS,
        "--config-file",
        str(config),
        "--region",
        "us-east-1",
        "--output-formats",
        "json-ocsf",
        "--output-directory",
        str(out),
        "--output-filename",
        "findings",
        "--no-banner",
        "--ignore-exit-code-3",  # 3: some check FAILed
    ]

    def verdicts(_stdout: str) -> Verdicts:
        failed: dict[str, set[str]] = {check: set() for check in PROWLER_CHECKS}
        for finding in json.loads((out / "findings.ocsf.json").read_text()):
            if finding["status_code"] != "FAIL":
                continue
            check = finding["metadata"]["event_code"]
            for resource in finding["resources"]:
                failed[check].add(resource["uid"].rsplit("/", 1)[-1])
        console, key = (failed[check] for check in PROWLER_CHECKS)
        return {case.user: (case.user in console, case.user in key) for case in CASES}

    return Command(command, peer_env(endpoint), verdicts)


def this_project(endpoint: str, work: Path) -> Command:
    """The bot's terminal scan, `python -m bot scan --json`, on a new SQLite file each run (no
    state carried over, as the peers carry none); its defaults are the thresholds."""
    env = bot_env(endpoint, DATABASE_URL=f"sqlite:///{work / 'scan.db'}")

    def verdicts(stdout: str) -> Verdicts:
        console: set[str] = set()
        key: set[str] = set()
        for finding in json.loads(stdout):
            if finding["category"] == IDLE_KEY:
                key.add(finding["user_name"])
            else:
                console.add(finding["user_name"])
                if finding["idle_keys"]:  # idle keys ride on the password's finding
                    key.add(finding["user_name"])
        return {case.user: (case.user in console, case.user in key) for case in CASES}

    return Command([sys.executable, "-m", "bot", "scan", "--json"], env, verdicts)


@dataclass
class Tool:
    name: str
    make: Callable[[str, Path], Command]
    venv: str | None = None  # its own virtualenv, None: the project's


TOOLS = (
    Tool("this project", this_project),
    Tool("Prowler", prowler, ".venv-prowler"),
    Tool("Custodian", custodian, ".venv-custodian"),
)


@dataclass
class Outcome:
    verdicts: Verdicts | None = None
    seconds: list[float] = field(default_factory=list)
    failure: str | None = None


def run(tool: Tool, endpoint: str, runs: int) -> Outcome:
    """The tool `runs` times, each a whole process in a new working folder, timed; its
    verdicts (the same each run, or it is said), or why it could not run."""
    outcome = Outcome()
    if tool.venv is not None and not (ROOT / tool.venv).is_dir():
        outcome.failure = f"could not run: {tool.venv} not found"
        return outcome
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            command = tool.make(endpoint, work)
            started = time.perf_counter()
            done = subprocess.run(
                command.argv, env=command.env, cwd=work, capture_output=True, text=True
            )
            outcome.seconds.append(time.perf_counter() - started)
            if done.returncode != 0:
                lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
                outcome.failure = f"could not run: exit {done.returncode}: {lines[-1]}"
                return outcome
            got = command.verdicts(done.stdout)
        if outcome.verdicts not in (None, got):
            outcome.failure = "verdicts differ from one run to the next"
        outcome.verdicts = got
    return outcome


# --- the table ---

# Why a peer's verdict differs from the rule's, where the reason is known (a disagreement
# with none here is printed as unexplained).
NEVER_USED_PASSWORD = "a never-used password is not judged: only a last-use date is, never the age"
NEVER_USED_KEY = "a never-used key is not judged: only a last-use date is, never the key's age"
EXEMPTION = "no exemption tag: the bot's `iam-inactive:exempt` means nothing to it"
REASONS: dict[tuple[str, str], str] = {
    ("Prowler", "password-idle-90"): "`days > 90`: 90 whole days is not over the threshold",
    ("Prowler", "key-idle-45"): "`days > 45`: 45 whole days is not over the threshold",
    ("Prowler", "password-never-used-old"): NEVER_USED_PASSWORD,
    ("Prowler", "key-never-used-old"): NEVER_USED_KEY,
    ("Prowler", "exempt"): EXEMPTION,
    ("Custodian", "password-never-used-old"): NEVER_USED_PASSWORD,
    ("Custodian", "key-never-used-old"): NEVER_USED_KEY,
    ("Custodian", "inactive-idle-active-recent"): (
        "each `credential` filter matches any key: the Inactive one is idle, the Active one "
        "is active, so the user matches"
    ),
    ("Custodian", "exempt"): EXEMPTION,
}


def cell(verdict: tuple[bool, bool]) -> str:
    console, key = verdict
    return ", ".join(n for n, v in (("password", console), ("key", key)) if v) or "-"


def table(outcomes: dict[str, Outcome]) -> str:
    names = list(outcomes)
    lines = [
        "| user | expected | " + " | ".join(names) + " | why (expected) |",
        "|---|---|" + "---|" * len(names) + "---|",
    ]
    agreed = dict.fromkeys(names, 0)
    differences: list[tuple[int, str]] = []  # (the tool's column, the line)
    for case in CASES:
        expected = (case.console, case.key)
        cells = []
        for name in names:
            verdicts = outcomes[name].verdicts
            if verdicts is None:
                cells.append("")
                continue
            got = verdicts[case.user]
            agreed[name] += got == expected
            cells.append(cell(got) + ("" if got == expected else " **x**"))
            if got != expected:
                why = REASONS.get((name, case.user), "unexplained")
                differences.append((names.index(name), f"- {name}, `{case.user}`: {why}"))
        row = f"| {case.user} | {cell(expected)} | " + " | ".join(cells) + f" | {case.because} |"
        lines.append(row)
    lines.append("")
    for name, outcome in outcomes.items():
        if outcome.failure is not None:
            lines.append(f"- {name}: {outcome.failure}")
            continue
        median = statistics.median(outcome.seconds)
        lines.append(
            f"- {name}: agrees with the rule on {agreed[name]} of {len(CASES)} users, "
            f"{len(CASES) - agreed[name]} disagreements; {median:.2f} s wall, the median of "
            f"{len(outcome.seconds)} runs of the whole process"
        )
    if differences:
        lines += [
            "",
            "Where they disagree:",
            *(line for _, line in sorted(differences, key=lambda d: d[0])),
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each (default 3)")
    args = parser.parse_args()
    for package in ("bot", "handlers", "storage"):  # as an installed bot's are
        compileall.compile_dir(ROOT / package, quiet=1)
    with served("bench.findings_account") as endpoint:
        outcomes = {tool.name: run(tool, endpoint, args.runs) for tool in TOOLS}
    print(table(outcomes))


if __name__ == "__main__":
    main()
