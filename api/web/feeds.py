"""Atom feeds (RFC 4287) per work and per network: what happened, newest first, in the reader's
words, for journalists and members who follow works in a feed reader instead of visiting.

Each feed entry is one log entry; its id names the log position, so a reader never shows the
same event twice, and its text is the timeline's sentence for it (the same words as the work's
page). Feeds are public, like everything they show."""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.responses import Response

from api.deps import RowId
from api.web.pages import failure_page, people
from api.web.render import Page, lifecycle_of
from lifecycle.db import LogEntry
from lifecycle.errors import LifecycleError

router = APIRouter()
FEED_SIZE = 50
ATOM = "application/atom+xml; charset=utf-8"
# Entries about a network rather than one of its works.
NETWORK_TYPES = ("network.created", "policy.set", "member.joined", "member.left")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _feed(page: Page, *, feed_id: str, title: str, link: str, entries: list[tuple[dict, str,
          str]]) -> Response:
    """An Atom document; `entries` are (log entry, sentence, link), newest first."""
    updated = entries[0][0]["at"] if entries else "1970-01-01T00:00:00.000000Z"
    base = _base(page.request)
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{page.lang}">',
        f"<id>{escape(feed_id)}</id>",
        f"<title>{escape(title)}</title>",
        f"<updated>{escape(updated)}</updated>",
        f'<link rel="alternate" type="text/html" href="{escape(base + link)}"/>',
        f'<link rel="self" type="application/atom+xml" href="{escape(str(page.request.url))}"/>',
        f"<author><name>{escape(page.gettext('Public works under oversight'))}</name></author>",
    ]
    for entry, sentence, href in entries:
        parts += [
            "<entry>",
            f"<id>{escape(base)}/log/entries/{entry['seq']}</id>",
            f"<title>{escape(sentence)}</title>",
            f"<updated>{escape(entry['at'])}</updated>",
            f'<link rel="alternate" type="text/html" href="{escape(base + href)}"/>',
            f'<content type="text">{escape(sentence)}</content>',
            "</entry>",
        ]
    parts.append("</feed>")
    return Response("\n".join(parts) + "\n", media_type=ATOM,
                    headers={"Cache-Control": "public, max-age=60"})


@router.get("/works/{work_id}/feed.atom")
def work_feed(request: Request, work_id: RowId) -> Response:
    page = Page(request)
    lc = lifecycle_of(request)
    try:
        work = lc.get_work(work_id)
        network = lc.get_network(work.network_id)
    except LifecycleError as exc:
        return failure_page(page, exc)
    everyone = people(lc, network)
    history = list(reversed(lc.history(work.id)))[:FEED_SIZE]
    entries = []
    for entry in history:
        actor_id = entry["actor"]["id"]
        who = page.words.person(everyone.get(actor_id), actor_id)
        entries.append((entry, page.words.event(entry, who, work, network),
                        f"/works/{work.id}"))
    return _feed(page, feed_id=f"{_base(request)}/works/{work.id}",
                 title=f"{work.code} · {work.title}", link=f"/works/{work.id}",
                 entries=entries)


@router.get("/networks/{network_id}/feed.atom")
def network_feed(request: Request, network_id: RowId) -> Response:
    page = Page(request)
    lc = lifecycle_of(request)
    try:
        network = lc.get_network(network_id)
    except LifecycleError as exc:
        return failure_page(page, exc)
    works = {row.id: row for row in lc.list_works(network_id=network_id, limit=500).works}
    with lc.engine.connect() as conn:
        raw = list(conn.execute(
            select(LogEntry.entry).where(LogEntry.work_id.in_(list(works)))
            .order_by(LogEntry.seq.desc()).limit(FEED_SIZE)).scalars()) if works else []
        for row in conn.execute(select(LogEntry.entry).where(LogEntry.type.in_(NETWORK_TYPES))
                                .order_by(LogEntry.seq.desc())).scalars():
            entry = json.loads(row)
            if entry["data"].get("network_id") == network_id:
                raw.append(row)
    log = sorted((json.loads(r) for r in raw), key=lambda e: e["seq"], reverse=True)[:FEED_SIZE]
    everyone = people(lc, network)
    loaded: dict[int, object] = {}
    entries = []
    for entry in log:
        actor_id = entry["actor"]["id"]
        who = page.words.person(everyone.get(actor_id), actor_id)
        work_id = entry["data"].get("work_id")
        if work_id in works:
            work = loaded.get(work_id) or loaded.setdefault(work_id, lc.get_work(work_id))
            sentence = f"{work.code}: " + page.words.event(entry, who, work, network)
            href = f"/works/{work_id}"
        else:
            sentence = page.words.network_event(entry, who, network)
            href = f"/networks/{network_id}"
        entries.append((entry, sentence, href))
    return _feed(page, feed_id=f"{_base(request)}/networks/{network_id}", title=network.name,
                 link=f"/networks/{network_id}", entries=entries)
