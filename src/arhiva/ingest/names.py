"""Names that come from the scanner's disk (files, folders, the batch folder) and the labels an
operator types (--batch, --collection), made safe before they become metadata.

A name the OS gives may hold bytes that are not UTF-8 (they arrive as lone surrogates) or control
characters (a newline, BEL, an ESC that would drive the operator's terminal). Such a file is set
aside as `bad_name` with its exact bytes kept; everything that writes a name out uses
`printable()`. A title made from a name loses what a spreadsheet would run as a formula.
"""

from __future__ import annotations

import os
import unicodedata

from arhiva.errors import UsageError

TITLE_MAX = 2000  # the record sheet's limit on a text field
LABEL_MAX = 200
_FORMULA = "=@+-"


def _control(c: str) -> bool:
    return unicodedata.category(c) == "Cc"


def _undecodable(c: str) -> bool:
    return "\udc80" <= c <= "\udcff"


def is_plain(name: str) -> bool:
    """Whether a name as the OS gave it is UTF-8 text without control characters."""
    return not any(_undecodable(c) or _control(c) for c in name)


def printable(name: str) -> str:
    """A name as text that JSON, the terminal and a file name can all hold: bytes that are not
    UTF-8 and control characters written as \\xNN."""
    if is_plain(name):
        return name
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return "".join(f"\\x{ord(c):02x}" if _control(c) else c for c in text)


def name_problem(name: str) -> str | None:
    """Why a file of this name cannot be archived under it, or None when it can."""
    if any(_undecodable(c) for c in name):
        return "the file or folder name is not UTF-8 text"
    bad = sorted({f"\\x{ord(c):02x}" for c in name if _control(c)})
    if bad:
        return f"the file or folder name holds control characters ({', '.join(bad)})"
    return None


def title_from_name(name: str) -> str | None:
    """The title a document gets from its file or folder name: without what a spreadsheet would
    run as a formula (a leading = @ + -, but not a sign before a digit), at most TITLE_MAX
    characters. None when nothing is left."""
    title = name.strip()
    while title[:1] in ("=", "@") or (title[:1] in ("+", "-") and not title[1:2].isdigit()):
        title = title[1:].lstrip()
    return title[:TITLE_MAX].rstrip() or None


def batch_name(given: str | None, folder_name: str) -> str:
    """The batch's name: the one the operator gave (checked), else the batch folder's own name
    made safe (escaped, no formula prefix), since a folder dropped in an inbox is nobody's typing."""
    if given is not None:
        return check_label(given, "--batch", folder=True)
    name = title_from_name(printable(folder_name)) or "batch"
    return name[:LABEL_MAX]


def check_label(value: str, option: str, *, folder: bool = False) -> str:
    """An operator's label (a batch or collection name), refused with a UsageError naming the
    option when it could not be archived as given."""
    text = value.strip()
    problem = None
    if not text:
        problem = "is empty"
    elif len(text) > LABEL_MAX:
        problem = f"is longer than {LABEL_MAX} characters"
    elif not is_plain(text):
        problem = "holds control characters"
    elif title_from_name(text) != text:
        problem = f"starts with {text[0]!r}, which a spreadsheet would run as a formula"
    elif folder and ("/" in text or "\\" in text or text in (".", "..")):
        problem = "must be a plain name, not a path"
    if problem:
        raise UsageError(f"{option} {printable(value)!r} {problem}")
    return text
