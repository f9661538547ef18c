#!/usr/bin/env python3
"""Parses .eml files with Python's email package (the strict, modern policy) and prints one JSON
object per file: headers, decoded subject, parts, accept links, and every defect the parser
found. Integration tests import parse() or run it on a Maildir's new/ files:

    python3 tests/mail/parse_eml.py var/mail/new/*.eml
"""

import email.parser
import email.policy
import json
import re
import sys

ACCEPT_LINK = re.compile(r"https?://[^\s\"'<>]+/invite/[A-Za-z0-9_-]+")


def parse(raw):
    """The structure of one message given as bytes, as a dict (see the module comment)."""
    msg = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)
    parts = []
    defects = [type(d).__name__ for d in msg.defects]
    for part in msg.walk():
        defects += [type(d).__name__ for d in part.defects]
        if part.is_multipart():
            continue
        body = part.get_content()
        parts.append({
            "type": part.get_content_type(),
            "charset": part.get_content_charset(),
            "encoding": part["Content-Transfer-Encoding"],
            "body": body,
            "links": ACCEPT_LINK.findall(body),
        })
    to = msg["To"]
    return {
        "headers": [[k, str(v)] for k, v in msg.items()],
        "content_type": msg.get_content_type(),
        "subject": str(msg["Subject"]),
        "from": str(msg["From"]),
        "to": [a.addr_spec for a in to.addresses] if to else [],
        "message_id": str(msg["Message-ID"]),
        "date": msg["Date"].datetime.isoformat() if msg["Date"] else None,
        "parts": parts,
        "defects": defects,
        "crlf_only": b"\n" not in raw.replace(b"\r\n", b"") and b"\r" not in raw.replace(b"\r\n", b""),
        "max_line": max((len(line) for line in raw.split(b"\r\n")), default=0),
    }


def main(paths):
    for path in paths:
        with open(path, "rb") as f:
            print(json.dumps(dict(parse(f.read()), file=path), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
