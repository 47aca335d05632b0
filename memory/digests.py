"""Content digests: the sha256 that identifies a text, and the 64-bit key the lookup index holds.

Identical content is embedded once per space. The lookup goes through an index on `content_key`
(the first 8 bytes of the sha256, as a signed 64-bit integer): about a quarter of the size of an index
on the 64-character hex digest, which bulk loads feel on every random index insert. Matches are
confirmed on the full digest, so a key collision can never reuse the wrong vector.
"""

from __future__ import annotations

import hashlib


def content_hash(content: str) -> str:
    """sha256 of the UTF-8 text, as 64 hex digits."""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def content_key(digest: str) -> int:
    """The signed 64-bit integer made of a hex digest's first 16 digits."""
    return int(digest[:16], 16) - (1 << 63)
