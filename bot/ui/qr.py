"""A ward's printable QR code: its link as a PNG (segno, pure Python, no image library)."""

from __future__ import annotations

import io

import segno

SCALE = 10  # pixels per module: sharp when printed on A5
BORDER = 4  # the quiet zone the QR standard asks for


def ward_link(bot_username: str, code: str) -> str:
    """The deep link a patient opens: /start visit-CODE in a private chat with the bot."""
    return f"https://t.me/{bot_username}?start=visit-{code}"


def qr_png(link: str) -> bytes:
    """The link as a QR code, medium error correction (a crease or a smudge still scans)."""
    out = io.BytesIO()
    segno.make(link, error="m", micro=False).save(out, kind="png", scale=SCALE, border=BORDER)
    return out.getvalue()
