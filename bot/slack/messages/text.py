"""Text from AWS (IAM names, tags, policy names, error messages) and from people (reasons, what
they typed) on its way into Slack: the one way it is made safe, for every surface.

- Slack reads `&`, `<` and `>` as the start of entities, mentions, links and @channel in every
  text object, mrkdwn and plain_text alike, and in a message's `text`; its "Escaping text" rule
  (docs.slack.dev/messaging/formatting-message-text) is to send them as `&amp;`, `&lt;` and
  `&gt;`, which Slack shows as the characters again (in a code span too).
- In mrkdwn, a value goes in a code span (`literal`), where `*`, `_` and `~` do not format and
  `:name:` is no emoji; Slack has no escape for a backtick, so one becomes a look-alike.
- Bidi controls (Unicode's Bidi_Control characters, U+202E among them) would reorder the rest of
  the line around a value, and control characters and line separators would break it: they are
  removed or become spaces (`clean`). A lone surrogate cannot be sent at all: it becomes U+FFFD.
- Lengths are counted as Slack counts them (`slack_length`), and a cut never ends inside an
  entity, a mention or a code span (`truncate`).
"""

from __future__ import annotations

import re

from bot.domain.records import SystemActor

# The end of a cut text that is half an entity (`&am`), or half a mention or link (`<@U0`,
# `<https://...`): a cut backs off to before it. A lone `<` in raw text is kept.
PARTIAL_MARKUP = re.compile(r"&[a-z#0-9]{0,6}$|<(?:[@#!]|https?:)[^<>]*$")
# Line breaks of every kind, and the controls that act like one: a value stays on its line.
BREAKS = re.compile(r"[\t\n\v\f\r\x1c-\x1f\x85\u2028\u2029]")
# C0 and C1 controls, and Unicode's Bidi_Control characters (ALM, LRM, RLM, LRE, RLE, PDF,
# LRO, RLO, LRI, RLI, FSI, PDI).
INVISIBLE = re.compile(
    r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
# What may go in `<@...>`: a user id's letters, so never `>`, `|` or another kind of mention.
USER_ID = re.compile(r"[UW][A-Z0-9]+")
BACKTICK_LOOKALIKE = "\u02cb"  # MODIFIER LETTER GRAVE ACCENT
NONE_SHOWN = "(none)"


def clean(value: str) -> str:
    """`value` with nothing that acts on the text around it: no bidi or other control
    characters, each line break a space, a lone surrogate U+FFFD."""
    flat = BREAKS.sub(" ", value)
    return LONE_SURROGATE.sub("\ufffd", INVISIBLE.sub("", flat))


def escape(text: str) -> str:
    """`&`, `<` and `>` as the entities Slack shows as the characters: never a mention, a
    link or @channel. For text the bot writes around a value; a value itself goes through
    `literal` (mrkdwn) or `plain` (plain_text)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def literal(value: str | None, limit: int | None = None) -> str:
    """A value from people or AWS in mrkdwn, shown exactly as written (`clean` aside, and at
    most `limit` characters of it): a code span, so never bold, italics, strikethrough or an
    emoji; escaped, so never a mention, a link or @channel."""
    flat = clean(value or "").replace("`", BACKTICK_LOOKALIKE)
    if not flat.strip():
        return NONE_SHOWN
    return f"`{escape(truncate(flat, limit) if limit else flat)}`"


def plain(text: str, limit: int) -> str:
    """Text for a plain_text object (a header, a button's confirm dialog): cleaned, escaped as
    Slack asks of every text object, at most `limit` characters. Slack does not parse mrkdwn
    there; send it with `emoji=False` so that `:name:` stays as written."""
    return truncate(escape(clean(text)), limit) or NONE_SHOWN


def mention(user_id: str | None) -> str:
    """A Slack user as a mention; the bot's own actors (the scheduler, the system) by name, and
    anything else that is not a user id as a value: never a mention of something else."""
    if not user_id:
        return "someone"
    if user_id in set(SystemActor):
        return f"the {user_id}"
    if USER_ID.fullmatch(user_id):
        return f"<@{user_id}>"
    return literal(user_id)


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters as Slack counts them (UTF-16 units, so a letter outside the
    Basic Multilingual Plane counts twice), ending in "…" when cut. A cut never ends inside an
    entity (`&amp;`), a mention or link (`<...>`), and a code span it opened is closed."""
    if slack_length(text) <= limit:
        return text
    cut = text[: max(limit - 2, 0)]  # room for "…" and a closing backtick
    while cut and slack_length(cut) > limit - 2:
        cut = cut[:-1]
    partial = PARTIAL_MARKUP.search(cut)
    if partial:
        cut = cut[: partial.start()]
    return cut + "…" + ("`" if cut.count("`") % 2 else "")


def slack_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2
