"""PMapper's verdicts on the crafted account (issue 22), for bench.privilege. Runs in PMapper's own
virtualenv (.venv-pmapper: principalmapper, moto, boto3), not the bot's: the account is seeded
into a moto server in this process, PMapper builds its graph against it through the AWS API, and
each user is privileged when PMapper calls it an admin or finds a privilege escalation path.

    .venv-pmapper/bin/python -m bench.privilege_pmapper   # prints JSON on stdout
"""

from __future__ import annotations

import collections
import collections.abc
import json
import os
import socket
import time

# PMapper 1.1.5 (its latest release) imports Mapping and MutableMapping from `collections`,
# which Python 3.10 removed. It runs on 3.11 here, as the crafted account's modules are the bot's
# (3.10 syntax): alias them back before it loads.
collections.Mapping = collections.abc.Mapping  # type: ignore[attr-defined]
collections.MutableMapping = collections.abc.MutableMapping  # type: ignore[attr-defined]

import boto3  # noqa: E402
import botocore.session  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402
from principalmapper.graphing import gathering  # noqa: E402
from principalmapper.querying.presets.privesc import can_privesc  # noqa: E402

from tests.support.privilege_moto import name_policies, seed_moto  # noqa: E402

SERVICES = ["iam", "sts", "ec2", "lambda", "cloudformation", "codebuild", "sagemaker", "ssm"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    url = f"http://127.0.0.1:{port}"
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
    )
    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1")
    iam.list_users()  # moto builds the account's backend
    seed_moto(iam)
    session = botocore.session.get_session()
    session.register("after-call.iam.GetAccountAuthorizationDetails", name_policies)
    started = time.perf_counter()
    graph = gathering.create_graph(
        session,
        SERVICES,
        region_allow_list=["us-east-1"],
        client_args_map={
            service: {"endpoint_url": url}
            for service in [*SERVICES, "s3", "sns", "sqs", "kms", "secretsmanager"]
        },
    )
    verdicts = {}
    for node in graph.nodes:
        if ":user/" not in node.arn:
            continue
        name = node.arn.rsplit("/", 1)[-1]
        if node.is_admin:
            verdicts[name] = [True, "admin"]
            continue
        escalates, edges = can_privesc(graph, node)
        path = " -> ".join(edge.describe_edge() for edge in edges) if escalates else None
        verdicts[name] = [escalates, path]
    seconds = time.perf_counter() - started
    server.stop()
    print(json.dumps({"seconds": seconds, "verdicts": verdicts}))


if __name__ == "__main__":
    main()
