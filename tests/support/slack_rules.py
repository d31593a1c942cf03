"""What Slack refuses in a message or a view (the stand-in answers these with Slack's error):
Block Kit as slack_sdk's models validate it, Slack's documented limits, and mentions that
would ping people."""

from __future__ import annotations

import json
import re
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MESSAGE_BLOCKS, VIEW_BLOCKS = 50, 100
MESSAGE_TEXT = 40_000
SPECIAL_PARSING = re.compile(r"<(?:[@#!]|https?:|mailto:)[^>]*>?")
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def message_problem(params: dict[str, Any]) -> str | None:
    blocks = params.get("blocks") or []
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    text = params.get("text") or ""
    if len(text) > MESSAGE_TEXT:
        return f"text of {len(text)} characters"
    return _blocks_problem(blocks, MESSAGE_BLOCKS) or _mention_problem(text + json.dumps(blocks))


def view_problem(view: dict[str, Any]) -> str | None:
    try:
        View(**view).validate_json()
    except (SlackObjectFormationError, TypeError) as error:
        return f"view: {error}"
    if view.get("type") == "modal" and not view.get("title"):
        return "a modal needs a title"
    blocks = view.get("blocks") or []
    return _blocks_problem(blocks, VIEW_BLOCKS) or _mention_problem(json.dumps(blocks))


def _blocks_problem(blocks: list[dict[str, Any]], limit: int) -> str | None:
    if len(blocks) > limit:
        return f"{len(blocks)} blocks (at most {limit})"
    block_ids = [block["block_id"] for block in blocks if "block_id" in block]
    if len(block_ids) != len(set(block_ids)):
        return f"repeated block_id in {block_ids}"
    for block in blocks:
        action_ids = [
            element["action_id"] for element in _elements(block) if "action_id" in element
        ]
        if len(action_ids) != len(set(action_ids)):  # unique within their block, says Slack
            return f"repeated action_id in {action_ids}"
        parsed = Block.parse(block)
        if parsed is None:
            return f"unknown block {block.get('type')!r}"
        try:
            parsed.validate_json()
        except SlackObjectFormationError as error:
            return f"{block.get('type')} block: {error}"
        if problem := _text_problem(block):
            return f"{block.get('type')} block: {problem}"
    return None


def _text_problem(node: Any, limit: int = 3000) -> str | None:
    """Slack's refusals in a text object, however deep: empty, over 3,000 characters (2,000 in a
    section's fields), or plain_text with special parsing (`<!channel>`): invalid_blocks."""
    if not isinstance(node, dict):
        items = node if isinstance(node, list) else []
        return next(filter(None, (_text_problem(item, limit) for item in items)), None)
    kind, text = node.get("type"), str(node.get("text", ""))
    special = kind == "plain_text" and SPECIAL_PARSING.search(text)
    if kind in ("plain_text", "mrkdwn") and (special or not 1 <= len(text) <= limit):
        return f"{kind} {text[:80]!r} of {len(text)} characters"
    found = (_text_problem(value, 2000 if key == "fields" else 3000) for key, value in node.items())
    return next(filter(None, found), None)


def _elements(block: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(block.get("elements") or [])
    return found + [block[key] for key in ("accessory", "element") if key in block]


def _mention_problem(text: str) -> str | None:
    for target in re.findall(r"<([@!][^>|]*)", text):
        if target.startswith("@") and not USER_ID.match(target[1:]):
            return f"<{target}> mentions something that is not a user id"
        if target in ("!channel", "!here", "!everyone"):
            return f"<{target}> pings everyone"
    return None
