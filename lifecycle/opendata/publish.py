"""Publishing a live log: releases, records and projects, and the bulk export folder.

The log only grows and a release depends only on the entries up to its own, so the releases of
entries already read never change. `Feed` keeps them in memory and, on each call, reads only
the entries appended since; the release feed is then gap-free by construction: releases come in
seq order from committed entries, and appends are serialized.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

from lifecycle.model import Work
from lifecycle.opendata import Publication, oc4ids, ocds

READ_BATCH = 1000


@dataclass(frozen=True)
class ReleasePage:
    releases: list[dict]
    next_after: int | None  # pass as `after` for the next page; None when this is the end


class Feed:
    def __init__(self, entries_after, publication: Publication):
        """`entries_after(after, limit)` returns raw entry bytes with seq > after, in order
        (`Lifecycle.entries`)."""
        self._entries_after = entries_after
        self.publication = publication
        self._builder = ocds.ReleaseBuilder(publication)
        self._read = 0  # entries consumed
        self._releases: list[ocds.Release] = []
        self._by_work: dict[int, list[int]] = {}
        self._lock = threading.Lock()

    @classmethod
    def of(cls, lc, publication: Publication | None = None) -> Feed:
        return cls(lambda after, limit: lc.entries(after=after, limit=limit),
                   publication or Publication.from_env())

    def refresh(self) -> None:
        with self._lock:
            while True:
                batch = self._entries_after(self._read - 1, READ_BATCH)
                for raw in batch:
                    self._consume(json.loads(raw))
                if len(batch) < READ_BATCH:
                    return

    def _consume(self, entry: dict) -> None:
        if entry["seq"] != self._read:  # pragma: no cover - the log store guarantees order
            raise RuntimeError(f"log entry {entry['seq']} read where {self._read} was expected")
        release = self._builder.feed(entry)
        self._read += 1
        if release is not None:
            self._by_work.setdefault(release.work_id, []).append(len(self._releases))
            self._releases.append(release)

    # ------------------------------------------------------------------ reads
    def page(self, after: int = -1, limit: int = 100) -> ReleasePage:
        self.refresh()
        with self._lock:
            start = _first_after(self._releases, after)
            chosen = self._releases[start:start + limit]
            more = start + limit < len(self._releases)
        return ReleasePage([r.data for r in chosen],
                           chosen[-1].seq if chosen and more else None)

    def work(self, work_id: int) -> Work | None:
        """A copy of the work as the log stands now (a later refresh may change the original)."""
        self.refresh()
        with self._lock:
            work = self._builder.state.works.get(work_id)
            return Work.from_dict(work.to_dict()) if work is not None else None

    def work_by_ocid(self, ocid: str) -> Work | None:
        self.refresh()
        with self._lock:
            for work in self._builder.state.works.values():
                if self.publication.ocid(work.code) == ocid:
                    return Work.from_dict(work.to_dict())
        return None

    def work_releases(self, work_id: int) -> list[dict]:
        self.refresh()
        with self._lock:
            return [self._releases[i].data for i in self._by_work.get(work_id, [])]

    def works(self) -> list[Work]:
        self.refresh()
        with self._lock:
            return [Work.from_dict(w.to_dict())
                    for w in sorted(self._builder.state.works.values(), key=lambda w: w.id)]

    def release_package(self, page: ReleasePage, uri: str) -> dict:
        return ocds.release_package(page.releases, self.publication, uri)

    def record_package(self, work: Work, uri: str) -> dict | None:
        releases = self.work_releases(work.id)
        if not releases:
            return None
        record = ocds.record(self.publication.ocid(work.code), releases)
        return ocds.record_package([record], self.publication, uri)

    def project_package(self, work: Work, uri: str) -> dict:
        item = oc4ids.project(work, self.work_releases(work.id), self.publication)
        return oc4ids.project_package([item], self.publication, uri)


def _first_after(releases: list[ocds.Release], after: int) -> int:
    """Index of the first release whose entry's seq is greater than `after` (binary search)."""
    low, high = 0, len(releases)
    while low < high:
        middle = (low + high) // 2
        if releases[middle].seq <= after:
            low = middle + 1
        else:
            high = middle
    return low


# ---------------------------------------------------------------------- bulk export
EXPORT_FILES = ("releases.jsonl", "release-package.json", "records.jsonl",
                "record-package.json", "projects.jsonl", "project-package.json")


def _dump(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def export(feed: Feed, folder: Path) -> dict:
    """Write every release, record and project of the log into `folder`: the three packages,
    each validated first (nothing is written if one fails), and JSON Lines of their items for
    bulk use. Returns the counts."""
    publication = feed.publication
    page = feed.page(-1, 1 << 62)
    works = [w for w in feed.works() if feed.work_releases(w.id)]
    counts = {"releases": len(page.releases), "records": len(works), "projects": len(works)}
    if not page.releases:
        folder.mkdir(parents=True, exist_ok=True)
        return counts
    records = [ocds.record(publication.ocid(w.code), feed.work_releases(w.id)) for w in works]
    projects = [oc4ids.project(w, feed.work_releases(w.id), publication) for w in works]
    release_package = ocds.release_package(page.releases, publication,
                                           publication.api("/ocds/releases"))
    record_package = ocds.record_package(records, publication, publication.api("/ocds/records"))
    project_package = oc4ids.project_package(projects, publication,
                                             publication.api("/oc4ids/projects"))
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "releases.jsonl": "".join(_dump(r) + "\n" for r in page.releases),
        "release-package.json": _dump(release_package),
        "records.jsonl": "".join(_dump(r) + "\n" for r in records),
        "record-package.json": _dump(record_package),
        "projects.jsonl": "".join(_dump(p) + "\n" for p in projects),
        "project-package.json": _dump(project_package),
    }
    for name, text in files.items():
        temporary = folder / f".{name}.tmp"
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(folder / name)
    return counts
