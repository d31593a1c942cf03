"""What bot/aws/fast.py relies on in botocore, checked on botocore's own model of IAM: these
fail loudly when an upgrade of botocore changes it (the bot would otherwise go on, right but
slower, or stop at its first scan with AWS_FAST_PARSING on)."""

from __future__ import annotations

import copy
import inspect

import botocore.session
import pytest
from botocore.handlers import BUILTIN_HANDLERS, json_decode_policies
from botocore.model import ServiceModel
from botocore.parsers import QueryParser

from bot.aws import fast

SESSION = botocore.session.get_session()
IAM_DATA = SESSION.get_service_data("iam")
IAM = ServiceModel(IAM_DATA, "iam")
BULK = IAM.operation_model("GetAccountAuthorizationDetails").output_shape
NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"


def iam_model_changed(change) -> ServiceModel:
    data = copy.deepcopy(IAM_DATA)
    change(data)
    return ServiceModel(data, "iam")


def test_iam_speaks_the_query_protocol_and_its_bulk_answer_compiles_without_falling_back():
    assert IAM.resolved_protocol == "query"  # the protocol CompilingQueryParser is made for
    assert IAM.metadata["xmlNamespace"] == NAMESPACE
    assert set(fast.COMPILED_OPERATIONS) == {"iam"}
    assert BULK.name in fast.COMPILED_SHAPES
    # compiles, every member down to the scalars (UnsupportedShape otherwise)
    read = fast.compile_reader(BULK, f"{{{NAMESPACE}}}")
    assert callable(read)
    fast.check_compiles(IAM)  # what a fast session checks when it builds an IAM client


def test_every_type_in_the_bulk_answer_is_one_the_reader_reads():
    seen, kinds = set(), set()

    def walk(shape):
        if shape.name in seen:
            return
        seen.add(shape.name)
        kinds.add(shape.type_name)
        assert not shape.serialization.get("flattened"), shape.name
        assert not shape.serialization.get("xmlAttribute"), shape.name
        for member in getattr(shape, "members", {}).values():
            walk(member)
        if shape.type_name == "list":
            walk(shape.member)

    walk(BULK)
    assert kinds <= {"structure", "list"} | set(fast.SCALARS), kinds - set(fast.SCALARS)


def test_the_private_parser_method_overridden_is_still_botocore_s():
    """CompilingQueryParser overrides QueryParser._parse_shape(self, shape, node): it must exist,
    take those parameters, and be what QueryParser reads an answer's shape through."""
    assert hasattr(QueryParser, "_parse_shape")
    parameters = list(inspect.signature(QueryParser._parse_shape).parameters)
    assert parameters == ["self", "shape", "node"]
    assert fast.CompilingQueryParser._parse_shape is not QueryParser._parse_shape

    shapes = []

    class Watching(QueryParser):
        def _parse_shape(self, shape, node):
            shapes.append(shape.name)
            return super()._parse_shape(shape, node)

    body = (
        f'<GetAccountAuthorizationDetailsResponse xmlns="{NAMESPACE}">'
        "<GetAccountAuthorizationDetailsResult><IsTruncated>false</IsTruncated>"
        "</GetAccountAuthorizationDetailsResult></GetAccountAuthorizationDetailsResponse>"
    ).encode()
    parsed = Watching().parse({"body": body, "headers": {}, "status_code": 200}, BULK)
    assert parsed["IsTruncated"] is False
    assert shapes[0] == BULK.name  # the whole answer's shape comes through it first


def test_the_policy_decoding_taken_off_is_still_botocore_s_handler_on_iam_answers():
    assert ("after-call.iam", json_decode_policies) in BUILTIN_HANDLERS


def test_the_timestamp_parser_is_set_through_botocore_s_public_defaults():
    factory = fast.ResponseParsers()
    assert factory._defaults["timestamp_parser"] is fast.parse_timestamp
    assert isinstance(factory.create_parser("query"), fast.CompilingQueryParser)
    assert not isinstance(factory.create_parser("json"), fast.CompilingQueryParser)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda d: d["metadata"].update(protocol="json", protocols=["json"]), "json protocol"),
        (
            lambda d: d["operations"]["GetAccountAuthorizationDetails"]["output"].update(
                shape="GetAccountSummaryResponse"
            ),
            "output shape GetAccountSummaryResponse",
        ),
        (lambda d: d["operations"].pop("GetAccountAuthorizationDetails"), "no such operation"),
        (
            lambda d: d["shapes"]["userDetailListType"].update(flattened=True),
            "UnsupportedShape",
        ),
    ],
    ids=["protocol", "output shape", "operation", "member shape"],
)
def test_a_model_the_fast_reader_cannot_read_is_refused_naming_the_way_out(
    monkeypatch, change, why
):
    monkeypatch.setattr(fast, "_READERS", {})
    with pytest.raises(fast.FastParsingUnavailable) as refused:
        fast.check_compiles(iam_model_changed(change))
    assert why in str(refused.value)
    assert "set AWS_FAST_PARSING=false" in str(refused.value)
    assert "\n" not in str(refused.value)


def test_off_a_session_is_boto3_s_own():
    on, off = fast.aws_session(region_name="us-east-1"), fast.aws_session(False)
    assert fast.is_fast(on) and not fast.is_fast(off)
    assert isinstance(on._session.get_component("response_parser_factory"), fast.ResponseParsers)
    assert not isinstance(
        off._session.get_component("response_parser_factory"), fast.ResponseParsers
    )


ROLE_AND_POLICIES = (
    f'<GetAccountAuthorizationDetailsResponse xmlns="{NAMESPACE}">'
    "<GetAccountAuthorizationDetailsResult><IsTruncated>false</IsTruncated>"
    "<UserDetailList><member><UserName>u</UserName><Arn>arn:aws:iam::1:user/u</Arn>"
    "<PermissionsBoundary><PermissionsBoundaryType>Policy</PermissionsBoundaryType>"
    "<PermissionsBoundaryArn>arn:aws:iam::aws:policy/ReadOnlyAccess</PermissionsBoundaryArn>"
    "</PermissionsBoundary></member></UserDetailList>"
    "<RoleDetailList><member><RoleName>r</RoleName><Arn>arn:aws:iam::1:role/r</Arn>"
    "<AssumeRolePolicyDocument>%7B%22Statement%22%3A%5B%5D%7D</AssumeRolePolicyDocument>"
    "<InstanceProfileList><member><InstanceProfileName>r</InstanceProfileName><Roles><member>"
    "<RoleName>r</RoleName></member></Roles></member></InstanceProfileList>"
    "<RolePolicyList><member><PolicyName>p</PolicyName><PolicyDocument>%7B%7D</PolicyDocument>"
    "</member></RolePolicyList><AttachedManagedPolicies><member><PolicyName>A</PolicyName>"
    "<PolicyArn>arn:aws:iam::aws:policy/A</PolicyArn></member></AttachedManagedPolicies>"
    "<PermissionsBoundary><PermissionsBoundaryArn>arn:aws:iam::1:policy/b</PermissionsBoundaryArn>"
    "</PermissionsBoundary></member></RoleDetailList>"
    "<Policies><member><PolicyName>A</PolicyName><Arn>arn:aws:iam::aws:policy/A</Arn>"
    "<PolicyVersionList><member><Document>%7B%7D</Document><VersionId>v2</VersionId>"
    "<IsDefaultVersion>true</IsDefaultVersion></member><member><Document>%7B%7D</Document>"
    "<VersionId>v1</VersionId><IsDefaultVersion>false</IsDefaultVersion></member>"
    "</PolicyVersionList></member></Policies>"
    "</GetAccountAuthorizationDetailsResult></GetAccountAuthorizationDetailsResponse>"
).encode()


def test_the_compiled_reader_reads_roles_boundaries_and_policy_versions_as_botocore_does():
    """What the privilege verdicts read of the bulk answer (bot.aws.details): roles with their
    trust, instance profiles and boundary, users' boundaries, every version of a policy."""
    answer = {"body": ROLE_AND_POLICIES, "headers": {}, "status_code": 200}
    plain = QueryParser().parse(answer, BULK)
    compiled = fast.CompilingQueryParser().parse(answer, BULK)
    assert compiled == plain
    (role,) = compiled["RoleDetailList"]
    assert role["AssumeRolePolicyDocument"] == "%7B%22Statement%22%3A%5B%5D%7D"
    assert role["InstanceProfileList"][0]["Roles"][0]["RoleName"] == "r"
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"].endswith("policy/b")
    assert compiled["UserDetailList"][0]["PermissionsBoundary"]["PermissionsBoundaryArn"]
    assert [v["IsDefaultVersion"] for v in compiled["Policies"][0]["PolicyVersionList"]] == [
        True,
        False,
    ]
