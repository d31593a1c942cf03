"""The credential report parser: a hand-made report as real AWS writes it, and property tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.report import REQUIRED_COLUMNS, ReportFormatError, parse_credential_report

HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
    "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
    "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
    "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
)
# Real AWS: a root row first, upper-case booleans, N/A and no_information placeholders.
AWS_REPORT = "\n".join(
    [
        HEADER,
        "<root_account>,arn:aws:iam::111122223333:root,2014-01-01T00:00:00+00:00,not_supported,"
        "2026-11-01T10:00:00+00:00,not_supported,not_supported,TRUE,FALSE,N/A,N/A,N/A,N/A,"
        "FALSE,N/A,N/A,N/A,N/A,FALSE,N/A,FALSE,N/A",
        "ann,arn:aws:iam::111122223333:user/ann,2020-02-03T04:05:06+00:00,TRUE,"
        "2026-01-02T03:04:05+00:00,2020-02-03T04:05:06+00:00,N/A,FALSE,TRUE,"
        "2021-01-01T00:00:00+00:00,2026-11-20T00:00:00+00:00,us-east-1,s3,FALSE,"
        "2021-01-01T00:00:00+00:00,2025-01-01T00:00:00+00:00,eu-west-1,ec2,FALSE,N/A,FALSE,N/A",
        "ben,arn:aws:iam::111122223333:user/team/ben,2019-05-05T00:00:00+00:00,TRUE,"
        "no_information,2019-05-06T00:00:00+00:00,N/A,FALSE,FALSE,N/A,N/A,N/A,N/A,FALSE,N/A,N/A,"
        "N/A,N/A,FALSE,N/A,FALSE,N/A",
        "cid,arn:aws:iam::111122223333:user/cid,2019-05-05T00:00:00+00:00,false,N/A,N/A,N/A,"
        "false,true,2019-05-05T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
    ]
)


def test_aws_report_skips_the_root_row_and_reads_every_value():
    ann, ben, cid = parse_credential_report(AWS_REPORT.encode())
    assert [u.user_name for u in (ann, ben, cid)] == ["ann", "ben", "cid"]
    assert ann.account_id == "111122223333"
    assert ann.has_password is True
    assert ann.password_last_used == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert [(k.active, k.last_used.year) for k in ann.keys] == [(True, 2026), (False, 2025)]
    assert ben.password_last_used is None  # no_information: never used
    assert ben.password_last_changed == datetime(2019, 5, 6, tzinfo=UTC)
    assert ben.keys == ()
    assert cid.has_password is False
    assert [(k.active, k.last_used) for k in cid.keys] == [(True, None)]


def test_report_missing_a_column_is_a_clear_error():
    broken = AWS_REPORT.replace("password_enabled", "password_on", 1)
    with pytest.raises(ReportFormatError, match="lacks columns: password_enabled"):
        parse_credential_report(broken)


def test_report_with_a_bad_date_names_line_and_column():
    broken = AWS_REPORT.replace("2026-01-02T03:04:05+00:00", "yesterday")
    with pytest.raises(ReportFormatError, match=r"line 3: password_last_used is not a date"):
        parse_credential_report(broken)


def test_report_with_a_short_row_is_a_clear_error():
    with pytest.raises(ReportFormatError, match="missing column"):
        parse_credential_report(HEADER + "\nann,arn:aws:iam::111122223333:user/ann")


def test_a_short_row_is_a_clear_error_wherever_the_user_column_is():
    columns = HEADER.split(",")
    header = ",".join([*columns[1:], columns[0]])  # the user's name last
    with pytest.raises(ReportFormatError, match="line 2: row is missing column"):
        parse_credential_report(header + "\narn:aws:iam::111122223333:user/ann")


def test_a_report_repeating_a_column_it_reads_is_a_clear_error():
    with pytest.raises(ReportFormatError, match="repeats columns: user$"):
        parse_credential_report(HEADER + ",user\n")


def test_empty_report_has_no_users():
    assert parse_credential_report(HEADER + "\n") == []


ODD_VALUES = st.one_of(
    st.sampled_from(
        [
            "N/A",
            "no_information",
            "not_supported",
            "TRUE",
            "true",
            "False",
            "",
            "2014-10-01",
            "2020-01-01T00:00:00+00:00",
            "arn:aws:iam::111122223333:user/x",
        ]
    ),
    st.text(max_size=12),
)


@given(
    st.lists(st.fixed_dictionaries({column: ODD_VALUES for column in REQUIRED_COLUMNS}), max_size=4)
)
def test_odd_values_never_crash_the_parser(rows):
    lines = [",".join(REQUIRED_COLUMNS)]
    for row in rows:
        lines.append(",".join('"' + row[c].replace('"', '""') + '"' for c in REQUIRED_COLUMNS))
    try:
        users = parse_credential_report("\r\n".join(lines))
    except ReportFormatError as error:
        assert str(error)
    else:
        for parsed in users:
            assert parsed.created.tzinfo is not None


@given(st.binary(max_size=300))
def test_arbitrary_text_gives_users_or_a_clear_error(blob):
    try:
        parse_credential_report(blob.decode("utf-8", errors="replace"))
    except ReportFormatError as error:
        assert str(error)


# A user name may hold commas (IAM allows `+=,.@_-`): AWS quotes such a field as CSV does, moto
# writes it bare. Both are read the same.
COMMA_ROW = (
    "{user},{arn},2020-02-03T04:05:06+00:00,TRUE,2026-01-02T03:04:05+00:00,"
    "2020-02-03T04:05:06+00:00,N/A,FALSE,FALSE,N/A,N/A,N/A,N/A,FALSE,N/A,N/A,N/A,N/A,FALSE,N/A,"
    "FALSE,N/A"
)


@pytest.mark.parametrize("name", ["svc,deploy", "a,b,c", ",lead", "trail,"])
@pytest.mark.parametrize("quoted", [True, False], ids=["quoted-as-aws", "bare-as-moto"])
def test_a_user_name_with_commas_is_read_quoted_or_not(name, quoted):
    arn = f"arn:aws:iam::111122223333:user/ops/{name}"
    user, arn_field = (f'"{name}"', f'"{arn}"') if quoted else (name, arn)
    report = "\n".join([HEADER, COMMA_ROW.format(user=user, arn=arn_field)])
    (parsed,) = parse_credential_report(report)
    assert (parsed.user_name, parsed.arn) == (name, arn)
    assert parsed.has_password and parsed.password_last_used == datetime(
        2026, 1, 2, 3, 4, 5, tzinfo=UTC
    )


def test_a_row_wider_than_its_header_for_another_reason_is_refused_not_misread():
    wide = COMMA_ROW.format(user="ann", arn="arn:aws:iam::111122223333:user/ann") + ",EXTRA"
    with pytest.raises(ReportFormatError, match="line 2: 23 fields where the header has 22"):
        parse_credential_report("\n".join([HEADER, wide]))
