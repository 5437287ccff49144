"""What a post's text names: `@username` mentions and `#tag` hashtags, parsed once when the
post is created. Linear-time regular expressions over text of at most POST_MAX_LENGTH
characters, so any text parses in bounded time."""

import re

# Usernames are ASCII letters, digits and @/./+/-/_ (accounts.models). A mention starts at
# a word boundary that is not part of an e-mail address, and does not take the sentence's
# closing punctuation ("thanks @bob." names bob).
_MENTION = re.compile(r"(?<![\w@.+-])@([A-Za-z0-9_.+-]+)", re.ASCII)
# A tag is Unicode letters, digits and underscores with at least one letter ("#2026" is no
# tag), not glued to a word before it ("C#" is none either).
_HASHTAG = re.compile(r"(?<![\w#&])#(\w+)")
MAX_TAG_LENGTH = 100


def _first_seen(names) -> list[str]:
    return list(dict.fromkeys(names))


def mentioned_usernames(text: str) -> list[str]:
    """The names after `@`, lower-cased, in order of first use, without repeats."""
    return _first_seen(match.rstrip(".+-").lower() for match in _MENTION.findall(text))


def hashtags(text: str) -> list[str]:
    """The tags after `#`, case-folded, in order of first use, without repeats."""
    tags = (
        tag.casefold()
        for tag in _HASHTAG.findall(text)
        if len(tag) <= MAX_TAG_LENGTH and not tag.replace("_", "").isdigit()
    )
    return _first_seen(tag for tag in tags if tag.strip("_"))


def normalise_tag(tag: str) -> str:
    """A tag as a client may write it in a URL or a search (any case, with or without `#`)."""
    return tag.lstrip("#").casefold()
