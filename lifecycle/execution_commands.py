"""The service's commands for execution under oversight (DESIGN §2, wave 2).

`ExecutionCommands` is mixed into `lifecycle.service.Lifecycle` (which provides `_write`,
`_read`, `clock`…). Each command is one write transaction like the others: validate → lock →
load → decide (lifecycle.decide, whose rules are lifecycle.execution's) → append.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from lifecycle import decide
from lifecycle import execution as ex
from lifecycle import projection
from lifecycle.errors import Invalid
from lifecycle.log.canonical import format_time, parse_time
from lifecycle.model import Policy, Work
from lifecycle.states import FINAL_STAGES


def amendment_input(amendment) -> ex.AmendmentInput:
    """The request's `amendment: {kind, amount?, days?}` as a value (shape checked later)."""
    if not isinstance(amendment, dict):
        raise Invalid("amendment", "an amend proposal needs {kind, amount?, days?}")
    unknown = set(amendment) - {"kind", "amount", "days"}
    if unknown:
        raise Invalid("amendment", f"unknown field {sorted(unknown)[0]!r}")
    return ex.AmendmentInput(kind=amendment.get("kind"), amount=amendment.get("amount"),
                             days=amendment.get("days"))


class ExecutionCommands:
    """Valuations, tender milestones, the worker's deadlines, and the paralysis report."""

    def report_valuation(self, *, actor, work_id: int, period: str, physical_pct: str,
                         financial_pct: str, amount: str, document_id: int) -> Work:
        """An official of the work's entity reports a month's valuation (valorización)."""
        from lifecycle.service import refuse

        valuation = ex.ValuationInput(period=period, physical_pct=physical_pct,
                                      financial_pct=financial_pct, amount=amount,
                                      document_id=document_id)
        with self._write() as tx:
            work = tx.work(work_id)
            refuse(decide.valuation_reported(actor, work, valuation, tx.at_dt))
            tx.emit("valuation.reported", actor, {
                "work_id": work_id, "valuation_id": len(work.valuations) + 1,
                "period": period, "physical_pct": physical_pct,
                "financial_pct": financial_pct, "amount": amount, "document_id": document_id})
            return work

    def record_milestone(self, *, actor, work_id: int, code: str, date: str,
                         document_id: int | None = None) -> Work:
        """An official of the work's entity records a tender milestone."""
        from lifecycle.service import refuse

        milestone = ex.MilestoneInput(code=code, date=date, document_id=document_id)
        with self._write() as tx:
            work = tx.work(work_id)
            refuse(decide.milestone_recorded(actor, work, milestone, tx.at_dt))
            data = {"work_id": work_id, "milestone_id": len(work.milestones) + 1,
                    "code": code, "date": date}
            if document_id is not None:
                data["document_id"] = document_id
            tx.emit("milestone.recorded", actor, data)
            return work

    def record_deadline(self, *, work_id: int, code: str, due: str) -> dict | None:
        """The worker records one deadline that is due: asked again under the log-head lock,
        so it is recorded exactly once. None when it is no longer due (recorded already)."""
        from lifecycle.deadlines import due_deadlines
        from lifecycle.service import SYSTEM

        with self._write() as tx:
            work = tx.work(work_id)
            network = tx.network(work.network_id)
            for deadline in due_deadlines(work, network.policy, tx.at_dt):
                if deadline.code == code and deadline.due == due:
                    return tx.emit("deadline.reached", SYSTEM, deadline.as_data())
            return None

    # ------------------------------------------------------------------ reads
    def paralysed_report(self, at: datetime | None = None) -> list[dict]:
        """Works in execution (or suspended from it) whose physical progress has not risen for
        `paralysis_months`,
        longest paralysed first, with the figures behind each and Ley 31589 eligibility."""
        from lifecycle.db import NetworkRow, WorkRow

        at = parse_time(format_time(at or self.clock()))
        with self._read() as session:
            policies = {row.id: projection.network(row.state).policy
                        for row in session.execute(select(NetworkRow)).scalars()}
            rows = session.execute(select(WorkRow.state)
                                   .where(WorkRow.stage.in_(("execution", "suspended")))
                                   .order_by(WorkRow.id)).scalars().all()
        report = []
        for state in rows:
            work = projection.work(state)
            policy = policies.get(work.network_id) or Policy()
            found = ex.paralysis(work, policy, at)
            if found is None:
                continue
            report.append({
                "work_id": work.id, "code": work.code, "title": work.title,
                "region": work.region, "network_id": work.network_id, "stage": work.stage,
                "since": found.since, "paralysed_since": found.due, "months": found.months,
                "days_without_progress": (at - parse_time(found.since)).days,
                "physical_pct": found.physical_pct,
                "financial_pct": work.valuations[-1].financial_pct if work.valuations else "0",
                "ley_31589": found.ley_31589})
        report.sort(key=lambda r: (r["since"], r["work_id"]))
        return report

    def paralysed_ids(self, at: datetime | None = None) -> set[int]:
        return {r["work_id"] for r in self.paralysed_report(at)}

    def execution_summary(self, work: Work, at: datetime | None = None) -> dict:
        """The figures of a work's execution for its page: contract amounts, progress,
        paralysis and Ley 31589."""
        at = parse_time(format_time(at or self.clock()))
        network = self.get_network(work.network_id)
        policy = network.policy
        original = ex.original_contract_amount(work)
        current = ex.current_contract_amount(work)
        found = ex.paralysis(work, policy, at) if work.stage not in FINAL_STAGES else None
        return {
            "original_amount": str(original) if original is not None else None,
            "current_amount": str(current) if current is not None else None,
            "valued_amount": str(ex.valued_amount(work)),
            "physical_pct": str(ex.physical_pct(work)),
            "additional_pct": str(ex.additional_pct(work).quantize(ex.Decimal("0.01"))),
            "extensions": ex.extensions(work),
            "extension_days": ex.extension_days(work),
            "paralysed": found is not None,
            "paralysed_since": found.due if found else None,
            "ley_31589": ex.ley_31589_eligible(work, policy, at),
            "terminated": ex.contract_terminated(work),
        }
