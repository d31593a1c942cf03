"""The bot's AWS clients read answers as botocore does: the compiled reader of the bulk answer
gives what botocore's own parser gives, and whatever it does not read is left to botocore (a
shape it was told to read and cannot is an error naming AWS_FAST_PARSING=false)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.handlers import json_decode_policies
from botocore.parsers import QueryParser

from bot.aws import fast
from bot.aws.accounts import client
from bot.aws.demo import ALLOW_ALL, DEMO_REGION, DemoKey, DemoUser, seed_users
from tests.integration.conftest import iam_error

IAM = botocore.session.get_session().get_service_model("iam")
BULK = IAM.operation_model("GetAccountAuthorizationDetails").output_shape
NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"


def fast_session() -> boto3.Session:
    """A fast session talking to moto (inside the aws_session fixture's simulated AWS)."""
    return fast.aws_session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=DEMO_REGION
    )


def botocore_reads(body: bytes, shape=BULK) -> dict:
    parsed = QueryParser().parse({"body": body, "headers": {}, "status_code": 200}, shape)
    parsed.pop("ResponseMetadata", None)
    return parsed


def bot_reads(body: bytes, shape=BULK) -> dict:
    parser = fast.ResponseParsers().create_parser("query")
    parsed = parser.parse({"body": body, "headers": {}, "status_code": 200}, shape)
    parsed.pop("ResponseMetadata", None)
    return parsed


def page(result: str) -> bytes:
    return (
        f'<GetAccountAuthorizationDetailsResponse xmlns="{NAMESPACE}">'
        f"<GetAccountAuthorizationDetailsResult>{result}</GetAccountAuthorizationDetailsResult>"
        "<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>"
        "</GetAccountAuthorizationDetailsResponse>"
    ).encode()


def test_a_truncated_page_with_escapes_empty_and_unknown_elements_reads_as_botocore_reads_it():
    body = page(
        "<IsTruncated>true</IsTruncated><Marker>next&amp;page</Marker>"
        "<UserDetailList><member><Path></Path><UserName>ana&lt;b&gt;</UserName>"
        "<UserId>AIDA1</UserId><Arn>arn:aws:iam::111122223333:user/ana</Arn>"
        "<CreateDate>2024-02-29T10:00:00Z</CreateDate><NotInTheModel>x</NotInTheModel>"
        "<UserPolicyList><member><PolicyName>p</PolicyName>"
        "<PolicyDocument>%7B%22Statement%22%3A%5B%5D%7D</PolicyDocument></member>"
        "</UserPolicyList><GroupList><member>admins</member><member>ops</member></GroupList>"
        "<AttachedManagedPolicies/><Tags><member><Key>owner</Key><Value>é@example.com</Value>"
        "</member><member><Key>empty</Key><Value/></member>"
        "<member><Key>team</Key><Value> a b </Value></member></Tags></member></UserDetailList>"
        "<GroupDetailList/><Policies><member><PolicyName>break-glass</PolicyName>"
        "<Arn>arn:aws:iam::111122223333:policy/break-glass</Arn><AttachmentCount>2"
        "</AttachmentCount><IsAttachable>true</IsAttachable><PolicyVersionList><member>"
        "<Document>%7B%7D</Document><VersionId>v2</VersionId>"
        "<IsDefaultVersion>false</IsDefaultVersion><CreateDate>2024-03-01T00:00:00.123Z"
        "</CreateDate></member></PolicyVersionList></member></Policies>"
    )
    read = bot_reads(body)
    assert read == botocore_reads(body)
    # AWS indents its answers: whitespace between elements changes nothing
    indented = body.replace(b"><", b">\n    <")
    assert bot_reads(indented) == botocore_reads(indented)
    user = read["UserDetailList"][0]
    assert (read["IsTruncated"], read["Marker"]) == (True, "next&page")
    assert (user["UserName"], user["Path"], user["GroupList"]) == ("ana<b>", "", ["admins", "ops"])
    assert user["Tags"] == [
        {"Key": "owner", "Value": "é@example.com"},
        {"Key": "empty", "Value": ""},
        {"Key": "team", "Value": " a b "},
    ]
    assert user["CreateDate"] == datetime(2024, 2, 29, 10, tzinfo=UTC)
    assert read["Policies"][0]["AttachmentCount"] == 2
    assert read["Policies"][0]["PolicyVersionList"][0]["IsDefaultVersion"] is False


def test_the_compiled_reader_is_what_reads_the_bulk_answer(monkeypatch):
    """Without it the bot would still be right, only slower: this test shows it is in use."""
    compiled = []
    original = fast.compile_reader
    monkeypatch.setattr(fast, "_READERS", {})
    monkeypatch.setattr(
        fast, "compile_reader", lambda *args: compiled.append(args[0].name) or original(*args)
    )
    body = page("<IsTruncated>false</IsTruncated><UserDetailList/>")
    assert bot_reads(body) == bot_reads(body) == {"IsTruncated": False, "UserDetailList": []}
    # compiled once (with its members' shapes), then reused, and not left to botocore
    assert compiled.count("GetAccountAuthorizationDetailsResponse") == 1
    assert fast._READERS[(f"{{{NAMESPACE}}}", BULK.name)] is not None


def test_elements_in_another_namespace_are_read_by_their_name_as_botocore_reads_them():
    body = page(
        '<IsTruncated xmlns="">true</IsTruncated><UserDetailList>'
        '<member xmlns="urn:other"><UserName>ana</UserName></member></UserDetailList>'
    )
    assert bot_reads(body) == botocore_reads(body)
    assert bot_reads(body) == {"IsTruncated": True, "UserDetailList": [{"UserName": "ana"}]}


def test_a_shape_the_reader_cannot_compile_is_an_error_naming_the_way_out(monkeypatch):
    summary = IAM.operation_model("GetAccountSummary").output_shape  # a map: SummaryMap
    with pytest.raises(fast.UnsupportedShape):
        fast.compile_reader(summary)
    body = (
        f'<GetAccountSummaryResponse xmlns="{NAMESPACE}"><GetAccountSummaryResult><SummaryMap>'
        "<entry><key>Users</key><value>3</value></entry></SummaryMap></GetAccountSummaryResult>"
        "</GetAccountSummaryResponse>"
    ).encode()
    # not among the compiled shapes: botocore reads it
    assert bot_reads(body, summary) == botocore_reads(body, summary) == {"SummaryMap": {"Users": 3}}
    # told to compile it: no silent fallback to the slower parser
    monkeypatch.setattr(fast, "COMPILED_SHAPES", fast.COMPILED_SHAPES | {summary.name})
    with pytest.raises(fast.FastParsingUnavailable, match="AWS_FAST_PARSING=false"):
        bot_reads(body, summary)


def test_moto_s_bulk_answer_reads_as_botocore_reads_it(aws_session, now):
    users = (
        DemoUser("grouped", 400, groups=("admins", "iam-operators"), tags={"owner": "a@b.c"}),
        DemoUser("keyed", 300, keys=(DemoKey(3),), mfa=True),
    )
    seed_users(aws_session, users, now)
    iam = aws_session.client("iam")
    iam.put_user_policy(UserName="keyed", PolicyName="all", PolicyDocument=json.dumps(ALLOW_ALL))
    mine = iam.create_policy(PolicyName="break-glass", PolicyDocument=json.dumps(ALLOW_ALL))
    iam.attach_user_policy(UserName="grouped", PolicyArn=mine["Policy"]["Arn"])

    # botocore as it comes, in a session of its own; the bot's, fast
    plain = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=DEMO_REGION
    ).client("iam")
    plain.meta.events.unregister("after-call.iam", json_decode_policies)  # as the bot does
    theirs = plain.get_account_authorization_details()
    ours = client(fast_session(), "iam").get_account_authorization_details()
    for answer in (theirs, ours):
        answer.pop("ResponseMetadata")
    assert ours == theirs
    assert {user["UserName"] for user in ours["UserDetailList"]} == {"grouped", "keyed"}
    assert ours["GroupDetailList"] and ours["Policies"]
    (keyed,) = (user for user in ours["UserDetailList"] if user["UserName"] == "keyed")
    assert isinstance(keyed["UserPolicyList"][0]["PolicyDocument"], str)  # as IAM sent it


def test_an_error_answer_is_still_botocore_s(aws_session):
    iam = client(fast_session(), "iam")
    iam.meta.events.register(
        "before-send.iam.GetAccountAuthorizationDetails",
        lambda **_: iam_error("AccessDenied", 403),
    )
    with pytest.raises(ClientError) as raised:
        iam.get_account_authorization_details()
    assert raised.value.response["Error"]["Code"] == "AccessDenied"
