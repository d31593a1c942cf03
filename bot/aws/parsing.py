"""How the bot's AWS clients read AWS's answers: botocore's parsers, made cheaper where a scan
spends its CPU.

Two changes, both kept to botocore's own model of each answer:
- times are read by the standard library (botocore's default, dateutil, took most of a scan's
  CPU on the bulk call's dates);
- the answers that grow with the number of users (GetAccountAuthorizationDetails) are read by a
  reader compiled once from botocore's shape of that answer, at half the CPU: botocore works
  out, at every XML element, which shape member the element is. For answers as AWS writes them
  (each member at most once) it gives what botocore's parser gives; of a repeated element it
  reads the first, where botocore's result is not meaningful. A shape the reader does not
  support is read by botocore, as is every error.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any
from xml.etree.ElementTree import Element

from botocore.model import Shape
from botocore.parsers import QueryParser, ResponseParserFactory
from botocore.utils import parse_timestamp as botocore_parse_timestamp

from bot.domain.clock import as_utc

# The output shapes read by a compiled reader: those whose size grows with the account's users.
COMPILED_SHAPES = frozenset({"GetAccountAuthorizationDetailsResponse"})

Reader = Callable[[Element], Any]


def parse_timestamp(value: Any) -> datetime:
    """AWS's ISO 8601 times, read by the standard library, in UTC. Anything else is read as
    botocore does."""
    try:
        return as_utc(datetime.fromisoformat(value))
    except (TypeError, ValueError):
        return botocore_parse_timestamp(value)


class ResponseParsers(ResponseParserFactory):
    """The response parser factory of the bot's botocore session (see module docstring)."""

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
        if shape.name in COMPILED_SHAPES and isinstance(node, Element):
            read = _reader_for(shape, _namespace(node.tag))
            if read is not None:
                return read(node)
        return super()._parse_shape(shape, node)


# Compiled readers by (XML namespace, shape name): the namespace names the service and its API
# version, so every client of the service shares one reader, however many are built.
_READERS: dict[tuple[str, str], Reader | None] = {}
_COMPILING = threading.Lock()


def _reader_for(shape: Shape, namespace: str) -> Reader | None:
    key = (namespace, shape.name)
    if key not in _READERS:
        with _COMPILING:
            if key not in _READERS:
                try:
                    _READERS[key] = compile_reader(shape, namespace)
                except (UnsupportedShape, RecursionError):  # a shape that contains itself
                    _READERS[key] = None
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
                member = members.get(child.tag) or local_members.get(_local(child.tag))
                if member is not None and member[0] not in parsed:
                    parsed[member[0]] = member[1](child)
            return parsed

        return read_structure
    if kind == "list":
        if shape.serialization.get("flattened"):
            raise UnsupportedShape(shape.name)
        read_item = compile_reader(shape.member, namespace)
        return lambda node: [read_item(child) for child in node]
    if kind not in SCALARS:
        raise UnsupportedShape(f"{shape.name} ({kind})")
    convert = SCALARS[kind]
    # An empty element is an empty value, as botocore reads it.
    return lambda node: convert(node.text or "")
