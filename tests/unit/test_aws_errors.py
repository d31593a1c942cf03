"""Which AWS errors waiting mends (bot.aws.iam.refused): a removal cut short by a crash is
waited for while AWS throttles or fails on its side, and failed (and told) once AWS refuses."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from bot.aws.iam import refused


def error(code: str, status: int) -> ClientError:
    answer = {
        "Error": {"Code": code, "Message": "x"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(answer, "GetLoginProfile")


@pytest.mark.parametrize(("code", "status"), [("AccessDenied", 403), ("InvalidClientTokenId", 403)])
def test_a_refusal_is_not_mended_by_waiting(code, status):
    assert refused(error(code, status))


@pytest.mark.parametrize(
    ("code", "status"), [("Throttling", 400), ("ServiceFailure", 500), ("ServiceUnavailable", 503)]
)
def test_a_throttle_or_aws_failing_on_its_side_is_waited_for(code, status):
    assert not refused(error(code, status))


def test_an_answer_that_never_came_is_waited_for():
    assert not refused(EndpointConnectionError(endpoint_url="https://iam.amazonaws.com"))


@pytest.mark.parametrize("code", ["ServiceFailure", "ServiceUnavailable", "InternalFailure"])
def test_aws_failing_on_its_side_is_not_a_refusal_that_waiting_cannot_mend(code):
    error = ClientError({"Error": {"Code": code, "Message": "x"}}, "GetLoginProfile")
    assert not refused(error)
