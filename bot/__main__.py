"""`python -m bot`: parse the command line and hand over to bot.entry.cli.

Only argparse is imported here, so `--help` answers at once; dotenv only when there is a .env
to read (a terminal scan's start-up is what a small account waits for).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Find and remove idle AWS console passwords."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    commands = parser.add_subparsers(dest="command")
    run = commands.add_parser("run", help="run the Slack bot (the default)")
    run.add_argument("--port", type=port, help="HTTP port (default: PORT, else 3000)")

    scan = commands.add_parser("scan", help="scan AWS now and print the findings")
    scan.add_argument("--demo", action="store_true", help="scan an embedded simulated account")
    formats = scan.add_mutually_exclusive_group()
    formats.add_argument("--json", dest="output", action="store_const", const="json")
    formats.add_argument("--csv", dest="output", action="store_const", const="csv")
    scan.add_argument(
        "--source",
        choices=("report", "api"),
        help="credential report (default) or per-user API calls",
    )
    scan.set_defaults(output="table")

    export = commands.add_parser(
        "export",
        help="write the decision record of a period for auditors (DATABASE_URL only)",
        description="Findings first seen in the period or with any recorded event in it, each "
        "with its whole history: CSV (a row per event) or JSON (findings with their events); "
        "with --population, every IAM user of every account scanned, with its verdict at the "
        "account's latest scan of the period. The summary line goes to stderr.",
    )
    export.add_argument(
        "--population",
        action="store_true",
        help="every IAM user's verdict (a row per user per account) instead of the findings",
    )
    export.add_argument("--since", help="first day, YYYY-MM-DD (default: 90 days before --until)")
    export.add_argument("--until", help="last day, YYYY-MM-DD, included (default: now)")
    export.add_argument("--account", help="only this 12-digit AWS account")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--output", help="write to this file instead of stdout")
    export.add_argument(
        "--no-bom",
        dest="bom",
        action="store_false",
        help="CSV without UTF-8's byte order mark (spreadsheets need it; pipelines may not)",
    )

    commands.add_parser(
        "scanner",
        aliases=["scheduler"],
        help="run the scanner: the schedule and every scan asked for (Procfile scanner:)",
    )
    commands.add_parser("migrate", help="create or upgrade the database schema")
    return parser


def port(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is from 1 to 65535, not {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # The .env of the working directory, and no other (dotenv would search further).
    env_file = Path.cwd() / ".env"
    try:
        if env_file.is_file():
            from dotenv import load_dotenv

            load_dotenv(env_file, override=False)
    except (OSError, UnicodeDecodeError) as error:
        print(f"iam-inactive: cannot read {env_file}: {error}", file=sys.stderr)
        return 2
    from bot.entry import cli

    if args.command == "scan":
        return cli.scan(
            os.environ,
            demo=args.demo,
            output=args.output,
            source=args.source,
            verbose=args.verbose,
        )
    if args.command == "export":
        return cli.export(
            os.environ,
            since=args.since,
            until=args.until,
            account=args.account,
            output_format=args.format,
            output=args.output,
            bom=args.bom,
            population=args.population,
        )
    if args.command == "migrate":
        return cli.migrate_only(os.environ)
    if args.command in ("scanner", "scheduler"):
        return cli.run_scanner(os.environ)
    return cli.run_bot(os.environ, port=getattr(args, "port", None))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C: what was under way has been stopped (and joined)
        print("iam-inactive: stopped (Ctrl-C)", file=sys.stderr)
        sys.exit(130)
