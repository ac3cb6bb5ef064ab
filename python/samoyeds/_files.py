"""Reading files that may be hostile: regular files only, bounded sizes, strict JSON.

Every reader of the package (safetensors headers, bundle manifests, checkpoint
index files) goes through these, so that a FIFO cannot block it, a huge file
is refused before it is read, and deep or duplicate-keyed JSON is an error
like any other (ValueError), never a RecursionError.
"""

from __future__ import annotations

import json
import os
import stat

from ._capi import quote

__all__ = ["open_regular", "parse_json", "read_json", "bounded"]


def open_regular(path: str):
    """(file opened for binary reading, size) if ``path`` is a regular file; else OSError
    (ENOENT, ... or "not a regular file"). Never blocks on a FIFO."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError("not a regular file")
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    return f, st.st_size


def _unique_keys(pairs):
    """json object_pairs_hook: a dict, refusing duplicate keys (as the runtime does)."""
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {quote(k)}")
        out[k] = v
    return out


def parse_json(text: str):
    """json.loads refusing duplicate keys; ValueError for any bad input (nesting too deep
    included, which json reports as RecursionError)."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise ValueError("nesting too deep") from None


def read_json(path: str, limit: int):
    """The JSON document in the regular file ``path`` of at most ``limit`` bytes (UTF-8).
    OSError when it cannot be read (not a regular file, too large, ...), ValueError when it
    is not valid JSON."""
    f, size = open_regular(path)
    with f:
        if size > limit:
            raise OSError(f"{size} bytes, more than the {limit} allowed")
        # What fstat gave, not the limit: the buffer is the file's size (a byte more
        # shows a file that grew since).
        raw = f.read(size + 1)
    if len(raw) > size:
        raise OSError(f"grew past the {size} bytes it had while it was read")
    return parse_json(raw.decode("utf-8"))


def bounded(value, limit: int = 200) -> str:
    """str(value) cut to ``limit`` characters (numbers, lists, exceptions in messages)."""
    text = str(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"
