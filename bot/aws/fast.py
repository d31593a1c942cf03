"""How the bot's AWS sessions and clients read AWS's answers: botocore's parsers, made cheaper
where a scan spends its CPU. The only module that reaches past boto3's and botocore's public API.

Three changes, all behind one setting, AWS_FAST_PARSING (true by default; false gives botocore's
own parsers and handlers, and the same scan results, only slower):
- times are read by the standard library (botocore's default, dateutil, took most of a scan's
  CPU on the bulk call's dates), through botocore's public
  `ResponseParserFactory.set_parser_defaults`;
- the answers that grow with the number of users (GetAccountAuthorizationDetails) are read by a
  reader compiled once from botocore's shape of that answer, at half the CPU: botocore works
  out, at every XML element, which shape member the element is. For answers as AWS writes them
  (each member at most once) it gives what botocore's parser gives; of a repeated element it
  reads the first, where botocore's result is not meaningful. Every other answer, and every
  error, is read by botocore;
- botocore's `json_decode_policies` handler (registered on `after-call.iam`) is taken off the
  bot's clients: it decodes every policy document of every answer, a tenth of a scan's CPU, and
  the privilege check decodes only those it reads (bot.aws.details.Documents takes either form).

What is private, and why: botocore has no public way to replace how one shape of one answer is
read, so CompilingQueryParser overrides `botocore.parsers.QueryParser._parse_shape`, a private
method (signature `(self, shape, node)`); and no per-client switch for the policy decoding, so
the module-level handler `botocore.handlers.json_decode_policies` is unregistered by name. The
parser factory goes in through a botocore session built here and handed to
`boto3.Session(botocore_session=...)`, both public. tests/unit/test_fast_contract.py fails when
botocore changes either, or when IAM's model moves off the query protocol or its bulk answer
takes a shape the reader cannot compile; a fast session then refuses to build an IAM client
(FastParsingUnavailable, naming AWS_FAST_PARSING=false) rather than go slower unnoticed.
"""

from __future__ import annotations

import base64
import threading
import weakref
from collections.abc import Callable
from datetime import datetime
from typing import Any
from xml.etree.ElementTree import Element

import boto3
import botocore.session
from botocore.handlers import json_decode_policies
from botocore.model import OperationNotFoundError, ServiceModel, Shape
from botocore.parsers import QueryParser, ResponseParserFactory
from botocore.utils import parse_timestamp as botocore_parse_timestamp

from bot.domain.clock import as_utc

SETTING = "AWS_FAST_PARSING"
# The operations whose answers are read by a compiled reader, by service: those whose size grows
# with the account's users. Their output shapes are COMPILED_SHAPES.
COMPILED_OPERATIONS = {"iam": ("GetAccountAuthorizationDetails",)}
COMPILED_SHAPES = frozenset({"GetAccountAuthorizationDetailsResponse"})

Reader = Callable[[Element], Any]


def parse_timestamp(value: Any) -> datetime:
    """AWS's ISO 8601 times, read by the standard library, in UTC. Anything else is read as
    botocore does."""
    try:
        return as_utc(datetime.fromisoformat(value))
    except (TypeError, ValueError):
        return botocore_parse_timestamp(value)


class FastParsingUnavailable(RuntimeError):
    """botocore's model of an answer the bot reads fast is one its fast reader cannot read."""


# The sessions aws_session built fast: their clients also go without json_decode_policies.
_FAST_SESSIONS: weakref.WeakSet[boto3.Session] = weakref.WeakSet()


def aws_session(fast: bool = True, **session_kwargs: Any) -> boto3.Session:
    """The base session of the bot's AWS clients (`session_kwargs`: boto3.Session's arguments).

    `fast` (AWS_FAST_PARSING): its clients read answers as the module docstring says, once built
    through `prepare`; otherwise botocore's parsers and handlers read them, as they come."""
    if not fast:
        return boto3.Session(**session_kwargs)
    core = botocore.session.Session()
    core.register_component("response_parser_factory", ResponseParsers())
    session = boto3.Session(botocore_session=core, **session_kwargs)
    _FAST_SESSIONS.add(session)
    return session


def is_fast(session: boto3.Session) -> bool:
    return session in _FAST_SESSIONS


def prepare(session: boto3.Session, client: Any) -> Any:
    """`client`, just built by `session`, ready for the bot. On a fast session: the answers read
    by compiled readers are checked to compile (else FastParsingUnavailable, now rather than
    slower answers later), and botocore's decoding of policy documents is taken off."""
    if session in _FAST_SESSIONS:
        model = client.meta.service_model
        check_compiles(model)
        client.meta.events.unregister(
            f"after-call.{model.service_id.hyphenize()}", json_decode_policies
        )
    return client


def check_compiles(model: ServiceModel) -> None:
    """Compile the readers of `model`'s COMPILED_OPERATIONS, or raise FastParsingUnavailable:
    a model on another protocol, or with another output shape, would otherwise be read by
    botocore, right but slower, without anyone noticing."""
    for operation in COMPILED_OPERATIONS.get(model.service_name, ()):
        what = f"{model.service_name} {operation}"
        if model.resolved_protocol != "query":
            raise _unavailable(what, f"the {model.resolved_protocol} protocol, not query")
        try:
            shape = model.operation_model(operation).output_shape
        except OperationNotFoundError:
            raise _unavailable(what, "no such operation in its model") from None
        if shape is None or shape.name not in COMPILED_SHAPES:
            raise _unavailable(what, f"output shape {getattr(shape, 'name', None)}")
        xml_namespace = model.metadata.get("xmlNamespace")
        _reader_for(shape, f"{{{xml_namespace}}}" if xml_namespace else "")


def _unavailable(what: str, why: str) -> FastParsingUnavailable:
    return FastParsingUnavailable(
        f"botocore {botocore.__version__} describes {what} in a way the bot's fast parsing "
        f"cannot read ({why}): set {SETTING}=false to read AWS's answers with botocore's own "
        "parsers"
    )


class ResponseParsers(ResponseParserFactory):
    """The response parser factory of a fast session (see module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.set_parser_defaults(timestamp_parser=parse_timestamp)

    def create_parser(self, protocol_name: str) -> Any:
        # The compiled readers read times with parse_timestamp too (SCALARS).
        if protocol_name == "query":
            return CompilingQueryParser(timestamp_parser=parse_timestamp)
        return super().create_parser(protocol_name)


class UnsupportedShape(ValueError):
    """A shape the compiled reader does not read the way botocore does."""


class CompilingQueryParser(QueryParser):
    """botocore's query-protocol parser, reading COMPILED_SHAPES with a compiled reader."""

    def _parse_shape(self, shape: Shape, node: Any) -> Any:
        # botocore's private method (see the module docstring): every shape of an answer, and
        # of each of its members, is read through it.
        if shape.name in COMPILED_SHAPES and isinstance(node, Element):
            return _reader_for(shape, _namespace(node.tag))(node)
        return super()._parse_shape(shape, node)


# Compiled readers by (XML namespace, shape name): the namespace names the service and its API
# version, so every client of the service shares one reader, however many are built.
_READERS: dict[tuple[str, str], Reader] = {}
_COMPILING = threading.Lock()


def _reader_for(shape: Shape, namespace: str) -> Reader:
    key = (namespace, shape.name)
    if key not in _READERS:
        with _COMPILING:
            if key not in _READERS:
                # RecursionError: a shape that contains itself
                try:
                    _READERS[key] = compile_reader(shape, namespace)
                except (UnsupportedShape, RecursionError) as error:
                    raise _unavailable(shape.name, f"{type(error).__name__}: {error}") from None
    return _READERS[key]


def _namespace(tag: str) -> str:
    return tag[: tag.index("}") + 1] if tag.startswith("{") else ""


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


SCALARS: dict[str, Callable[[str], Any]] = {
    "string": str,
    "character": str,
    "boolean": lambda text: text == "true",
    "integer": int,
    "long": int,
    "float": float,
    "double": float,
    "timestamp": parse_timestamp,
    "blob": base64.b64decode,
}


def compile_reader(shape: Shape, namespace: str = "") -> Reader:
    """A function reading an XML element of `shape` into what botocore's parser would return.
    Raises UnsupportedShape for what only botocore reads (maps, flattened lists, attributes)."""
    kind = shape.type_name
    if kind == "structure":
        if shape.is_tagged_union:
            raise UnsupportedShape(shape.name)
        members: dict[str, tuple[str, Reader]] = {}
        for name, member in shape.members.items():
            if member.serialization.get("xmlAttribute") or member.serialization.get("location"):
                raise UnsupportedShape(f"{shape.name}.{name}")
            xml_name = namespace + member.serialization.get("name", name)
            members[xml_name] = (name, compile_reader(member, namespace))
        # botocore ignores namespaces: an element in another one is found by its local name
        local_members = {tag.removeprefix(namespace): member for tag, member in members.items()}

        def read_structure(node: Element) -> dict[str, Any]:
            parsed = {}
            for child in node:
                member = members.get(child.tag)
                if member is None:
                    member = local_members.get(_local(child.tag))
                    if member is None:
                        continue
                name, read = member
                if name not in parsed:
                    parsed[name] = read(child)
            return parsed

        return read_structure
    if kind == "list":
        if shape.serialization.get("flattened"):
            raise UnsupportedShape(shape.name)
        read_item = compile_reader(shape.member, namespace)
        return lambda node: [read_item(child) for child in node]
    if kind not in SCALARS:
        raise UnsupportedShape(f"{shape.name} ({kind})")
    # An empty element is an empty value, as botocore reads it.
    if SCALARS[kind] is str:  # most of an answer: its text as it is
        return lambda node: node.text or ""
    convert = SCALARS[kind]
    return lambda node: convert(node.text or "")
