"""A work's descriptive details (CUI, province, district, sector, description) and their logged
correction (`work.corrected`, DESIGN §5 `PATCH /works/{id}`), so that a typo is not forever.

A correction changes only what describes the work, never what the rules judge: the code is its
open-data identifier (ocid), the region decides the overseeing network, and the reference
amount sets the award's red flags — changing those after the fact would be a way around the
rules, so they are not correctable. Every correction carries a written reason and shows in the
work's public timeline."""

from __future__ import annotations

import re

from lifecycle import decide, validation as check
from lifecycle.decide import Refusal
from lifecycle.errors import Invalid
from lifecycle.model import Work

# OC4IDS projectSector codes, so that open data publishes the sector as it is.
WORK_SECTORS = ("transport.road", "transport", "waterAndWaste", "health", "education",
                "energy", "communications", "governance", "economy",
                "cultureSportsAndRecreation", "socialHousing", "naturalResources",
                "naturalResources.floodProtection")
CORRECTABLE = ("title", "cui", "province", "district", "sector", "description")
_CUI = re.compile(r"^\d{7}$")  # Código Único de Inversiones (Invierte.pe): seven digits


def check_details(*, cui=None, province=None, district=None, sector=None,
                  description=None) -> dict:
    """The optional details, validated; only the ones given."""
    out: dict = {}
    if cui not in (None, ""):
        cui = check.text("cui", cui, max_len=7)
        if not _CUI.match(cui):
            raise Invalid("cui", "must be the seven digits of the investment's CUI")
        out["cui"] = cui
    for name, value, limit in (("province", province, 100), ("district", district, 100),
                               ("description", description, 4000)):
        if value not in (None, ""):
            out[name] = check.text(name, value, max_len=limit)
    if sector not in (None, ""):
        out["sector"] = check.choice("sector", sector, WORK_SECTORS)
    return out


def check_changes(changes: dict) -> dict:
    """A correction's new values, validated field by field."""
    unknown = sorted(set(changes) - set(CORRECTABLE))
    if unknown:
        raise Invalid(unknown[0], "cannot be corrected (only " + ", ".join(CORRECTABLE) + ")")
    out = {}
    if "title" in changes:
        out["title"] = check.text("title", changes["title"], max_len=300)
    details = {k: v for k, v in changes.items() if k != "title"}
    cleared = {k for k, v in details.items() if v in (None, "")}
    out |= check_details(**{k: v for k, v in details.items() if k not in cleared})
    out |= {k: None for k in cleared}
    return out


def correction(who, work: Work, changes: dict, reason: str) -> list[Refusal]:
    """Rule: only an official of the work's entity corrects its details, with a reason, and a
    correction must change something."""
    refusals = decide.acts_on_work(who, work)
    if refusals:
        return refusals
    if not (reason or "").strip():
        return [Refusal("reason", "a correction needs its reason", "invalid", "reason")]
    bad = [k for k in changes if k not in CORRECTABLE]
    if bad:
        return [Refusal(bad[0], "cannot be corrected", "invalid", bad[0])]
    if not changes or all(getattr(work, k, None) == v for k, v in changes.items()):
        return [Refusal("changes", "nothing would change", "invalid", "changes")]
    return []


class WorkCorrections:
    """Mixed into lifecycle.service.Lifecycle: the `correct_work` command."""

    def correct_work(self, *, actor, work_id: int, reason: str, **changes) -> Work:
        from lifecycle.service import refuse

        reason = check.text("reason", reason or "", max_len=2000)
        values = check_changes(changes)
        with self._write() as tx:
            work = self._official_work(tx, actor, work_id)
            refuse(correction(actor, work, values, reason))
            before = {k: getattr(work, k, None) for k in values}
            tx.emit("work.corrected", actor, {"work_id": work_id, "changes": values,
                                              "before": before, "reason": reason})
            return tx.state.works[work_id]
