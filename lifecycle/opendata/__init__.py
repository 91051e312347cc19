"""Open data (DESIGN §6): OCDS 1.1.5 releases and records, OC4IDS 0.9 projects, SEACE import,
and the spreadsheets journalists download.

Everything here is a pure function of log entries and of the state the reducer rebuilds from
them; nothing reads the wall clock or the network. The schemas and codelists it validates
against are vendored in `schema/` (see schema/SOURCES.md).

Settings (environment):
- `LIFECYCLE_OCID_PREFIX`: the OCDS ocid prefix the Open Contracting Partnership registered for
  the publisher. The default, `ocds-lifecycle`, is not a registered prefix: it marks data from a
  local or demo installation. Each work's ocid is `<prefix>-<work code>`.
- `LIFECYCLE_PUBLIC_URL`: the site's public address, used in document download URLs and package
  URIs (default `http://127.0.0.1:8000`).
- `LIFECYCLE_PUBLISHER_NAME`: the publisher named in every package (default `lifecycle`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_OCID_PREFIX = "ocds-lifecycle"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
DEFAULT_PUBLISHER = "lifecycle"
OCDS_VERSION = "1.1"
OC4IDS_VERSION = "0.9"


@dataclass(frozen=True)
class Publication:
    """Who publishes, where, and under which ocid prefix: fixed for an installation, so that a
    release generated today is the same one generated tomorrow."""

    ocid_prefix: str = DEFAULT_OCID_PREFIX
    public_url: str = DEFAULT_PUBLIC_URL
    publisher: str = DEFAULT_PUBLISHER

    @classmethod
    def from_env(cls) -> Publication:
        return cls(
            ocid_prefix=os.environ.get("LIFECYCLE_OCID_PREFIX", "").strip() or DEFAULT_OCID_PREFIX,
            public_url=(os.environ.get("LIFECYCLE_PUBLIC_URL", "").strip()
                        or DEFAULT_PUBLIC_URL).rstrip("/"),
            publisher=os.environ.get("LIFECYCLE_PUBLISHER_NAME", "").strip() or DEFAULT_PUBLISHER)

    def ocid(self, work_code: str) -> str:
        return f"{self.ocid_prefix}-{work_code}"

    def api(self, path: str) -> str:
        return f"{self.public_url}/api/v1{path}"
