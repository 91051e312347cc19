"""Plain words for what the engine holds as codes: stage, trigger, sector and document names,
log entries as sentences (who, from which organization and sector, did what and why), and the
guards' verdicts as what is still missing.

The verdicts themselves (ok or not) always come from the engine's guards; this module only says
them in the reader's language. Every string goes through gettext, so `pybabel extract` finds it.
"""

from __future__ import annotations

from dataclasses import dataclass

from babel.support import NullTranslations

from api.web import execution_words
from api.web.i18n import Formats
from lifecycle.guards import GuardResult
from lifecycle.vocabulary import stage_names, trigger_names
from lifecycle.model import Network, Proposal, Work


@dataclass(frozen=True)
class Person:
    """Who an entry's actor is, as the reader should see it."""

    username: str
    role: str
    organization: str | None = None
    sector: str | None = None


class Words:
    def __init__(self, translations: NullTranslations, formats: Formats):
        self.gettext = translations.gettext
        self.ngettext = translations.ngettext
        self.fmt = formats

    # ------------------------------------------------------------------ names of codes
    def stage(self, code: str) -> str:
        return stage_names(self.gettext).get(code, code)

    def trigger(self, code: str) -> str:
        return trigger_names(self.gettext).get(code, code)

    def sector(self, code: str | None) -> str:
        _ = self.gettext
        names = {
            "government": _("government"), "civil_society": _("civil society"),
            "private_sector": _("private sector"),
            "professional_association": _("professional association"),
            "academia": _("academia"),
        }
        return names.get(code or "", code or "")

    def work_sector(self, code: str | None) -> str:
        """A work's sector (OC4IDS projectSector codes)."""
        _ = self.gettext
        return {
            "transport.road": _("roads and bridges"), "transport": _("transport"),
            "waterAndWaste": _("water and sanitation"), "health": _("health"),
            "education": _("education"), "energy": _("energy"),
            "communications": _("communications"), "governance": _("public buildings"),
            "economy": _("agriculture and irrigation"),
            "cultureSportsAndRecreation": _("culture, sports and recreation"),
            "socialHousing": _("social housing"), "naturalResources": _("natural resources"),
            "naturalResources.floodProtection": _("flood protection"),
        }.get(code or "", code or "")

    def work_field(self, name: str) -> str:
        _ = self.gettext
        return {"title": _("title"), "cui": _("CUI"), "province": _("province"),
                "district": _("district"), "sector": _("sector"),
                "description": _("description")}.get(name, name)

    def constituency(self, code: str) -> str:
        _ = self.gettext
        return {"women": _("women"), "indigenous": _("indigenous peoples"),
                "youth": _("youth")}.get(code, code)

    def role(self, code: str) -> str:
        _ = self.gettext
        return {"admin": _("administrator"), "official": _("official"),
                "member": _("network member"), "auditor": _("auditor"),
                "system": _("the system")}.get(code, code)

    def decision(self, code: str) -> str:
        _ = self.gettext
        return {"approve": _("approved"), "block": _("blocked"),
                "withdraw": _("withdrew"), }.get(code, code)

    def kind(self, code: str) -> str:
        """Document kinds (OCDS documentType codes); the ones the stage changes need have names,
        the rest show their code."""
        _ = self.gettext
        names = {
            "feasibilityStudy": _("Feasibility study"),
            "technicalSpecifications": _("Technical specifications"),
            "budgetApproval": _("Budget approval"),
            "evaluationReports": _("Evaluation report"),
            "contractSigned": _("Signed contract"),
            "completionCertificate": _("Completion certificate"),
            "cancellationDetails": _("Cancellation details"),
            "tenderNotice": _("Tender notice"),
            "awardNotice": _("Award notice"),
            "billOfQuantity": _("Bill of quantities"),
            "environmentalImpact": _("Environmental impact study"),
            "physicalProgressReport": _("Physical progress report"),
            "financialProgressReport": _("Financial progress report"),
            "complaints": _("Complaints"),
            "clarifications": _("Clarifications"),
        }
        return names.get(code, code)

    def red_flag(self, code: str, network: Network | None = None) -> str:
        _ = self.gettext
        if code == "single_bidder":
            return _("a single bidder")
        if code == "amount_above_reference":
            tolerance = network.policy.award_tolerance_pct if network else 10
            return _("amount more than %(pct)s%% above the reference amount") % {"pct": tolerance}
        if code == "amount_below_reference":
            tolerance = network.policy.low_tolerance_pct if network else 10
            return _("amount more than %(pct)s%% below the reference amount (an abnormally "
                     "low offer)") % {"pct": tolerance}
        return code

    def exclusion(self, reason: str | None) -> str:
        """Why an approval does not count. The engine gives the reason in English; the known
        ones are said in the reader's language."""
        _ = self.gettext
        if reason is None:
            return _("counts")
        known = {
            "not a member of the network": _("does not count: not a member of the network"),
            "has left the network": _("does not count: has left the network"),
            "opened the proposal": _("does not count: opened the proposal"),
            "declared a conflict of interest":
                _("does not count: declared a conflict of interest"),
            "works for the work's entity": _("does not count: works for the work's entity"),
            "works for the proposed supplier":
                _("does not count: works for the proposed supplier"),
            "not signed by the member": _("does not count: not signed by the member"),
            "was not a member when the proposal opened":
                _("does not count: was not a member when the proposal opened"),
            "works for the awarded supplier or a consortium member":
                _("does not count: works for the awarded supplier or a consortium member"),
            "another approval of the same organization counts":
                _("does not count: another approval of the same organization counts"),
        }
        if reason.startswith("stale"):
            return _("stale: given before the dossier last changed (a document, an observation "
                     "or an answer); it must be given again")
        return known.get(reason, reason)

    def join(self, items: list[str]) -> str:
        from babel.lists import format_list

        return format_list(items, locale=self.fmt.locale) if items else ""

    # ------------------------------------------------------------------ people
    def person(self, person: Person | None, user_id) -> str:
        _ = self.gettext
        if person is None:
            return _("user %(id)s") % {"id": user_id}
        if person.role == "system":
            return _("The system")
        if person.organization and person.sector:
            return _("%(user)s (%(org)s, %(sector)s)") % {
                "user": person.username, "org": person.organization,
                "sector": self.sector(person.sector)}
        if person.organization:
            return _("%(user)s (%(org)s)") % {"user": person.username,
                                              "org": person.organization}
        return _("%(user)s (%(role)s)") % {"user": person.username,
                                           "role": self.role(person.role)}

    # ------------------------------------------------------------------ the log in words
    def network_event(self, entry: dict, who: str, network: Network | None) -> str:
        """One log entry about a network (not one of its works) as a sentence."""
        _ = self.gettext
        data = entry.get("data", {})
        kind = entry.get("type")
        if kind == "network.created":
            return _("%(who)s created the network %(name)s.") % {"who": who,
                                                                 "name": data.get("name")}
        if kind == "policy.set":
            return _("%(who)s set version %(version)s of the network's rules.") % {
                "who": who, "version": data.get("version")}
        member = network.member(data.get("user_id")) if network else None
        name = member.username if member else _("user %(id)s") % {"id": data.get("user_id")}
        if kind == "member.joined":
            return _("%(who)s added %(member)s (%(org)s) to the network.") % {
                "who": who, "member": name, "org": data.get("organization") or
                (member.organization if member else "")}
        if kind == "member.left":
            return _("%(member)s left the network.") % {"member": name}
        return _("%(who)s: %(type)s") % {"who": who, "type": kind}

    def event(self, entry: dict, who: str, work: Work, network: Network | None) -> str:
        """One log entry of a work as a sentence: who did what, and why."""
        _ = self.gettext
        data = entry.get("data", {})
        kind = entry.get("type")
        if kind in ("network.created", "policy.set", "member.joined", "member.left"):
            return self.network_event(entry, who, network)
        if kind in execution_words.EXECUTION_EVENTS:  # valuations, milestones, deadlines
            return execution_words.event_text(self, entry, who, work)
        pid = data.get("proposal_id")
        values = {"who": who, "id": pid}
        if kind == "work.registered":
            return _("%(who)s registered the work %(code)s with a reference amount of "
                     "%(amount)s.") % {**values, "code": data.get("code"),
                                       "amount": self.fmt.money(data.get("reference_amount"),
                                                                data.get("currency", "PEN"))}
        if kind == "work.imported":
            if data.get("linked"):
                return _("%(who)s linked the work to the SEACE process %(ocid)s and kept its "
                         "record as a document.") % {**values, "ocid": data.get("source_ocid")}
            return _("%(who)s imported the work %(code)s from SEACE (%(ocid)s), in the stage "
                     "%(stage)s.") % {**values, "code": data.get("code"),
                                     "ocid": data.get("source_ocid"),
                                     "stage": self.stage(data.get("stage", ""))}
        if kind == "work.corrected":
            return _("%(who)s corrected the work's %(fields)s, because: “%(why)s”") % {
                **values, "fields": self.join([self.work_field(k) for k in data.get("changes",
                                                                                    {})]),
                "why": data.get("reason", "")}
        if kind == "document.attached":
            return _("%(who)s attached the document “%(title)s” (%(kind)s).") % {
                **values, "title": data.get("title"), "kind": self.kind(data.get("kind", ""))}
        if kind == "observation.filed":
            return _("%(who)s filed observation #%(obs)s: “%(text)s”") % {
                **values, "obs": data.get("observation_id"), "text": data.get("text")}
        if kind == "observation.answered":
            return _("%(who)s answered observation #%(obs)s: “%(text)s”") % {
                **values, "obs": data.get("observation_id"), "text": data.get("text")}
        if kind == "conflict.declared":
            return _("%(who)s declared a conflict of interest: “%(text)s”") % {
                **values, "text": data.get("statement")}
        if kind == "proposal.opened":
            sentence = _("%(who)s proposed to %(action)s (proposal #%(id)s), because: "
                         "“%(why)s”") % {**values, "action": self.trigger(data.get("trigger", "")),
                                         "why": data.get("justification") or "—"}
            flags = data.get("red_flags") or []
            if flags:
                sentence += " " + _("Red flags: %(flags)s.") % {
                    "flags": self.join([self.red_flag(f, network) for f in flags])}
            return sentence
        if kind == "proposal.withdrawn":
            return _("%(who)s withdrew proposal #%(id)s.") % values
        if kind == "observation.accepted":
            return _("%(who)s accepted the answer to observation #%(obs)s.") % {
                **values, "obs": data.get("observation_id")}
        if kind == "observation.rejected":
            return _("%(who)s rejected the answer to observation #%(obs)s, because: "
                     "“%(why)s”") % {**values, "obs": data.get("observation_id"),
                                     "why": data.get("reason", "")}
        if kind == "block.overruled":
            return _("%(who)s overruled the block of a member who left the network, on "
                     "proposal #%(id)s, because: “%(why)s”") % {
                **values, "why": data.get("reason", "")}

        if kind == "signoff.recorded":
            decision = data.get("decision")
            if decision == "approve":
                return _("%(who)s approved proposal #%(id)s.") % values
            if decision == "block":
                return _("%(who)s blocked proposal #%(id)s, because: “%(why)s”") % {
                    **values, "why": data.get("reason", "")}
            return _("%(who)s withdrew their sign-off on proposal #%(id)s.") % values
        if kind == "transition.applied":
            return _("%(who)s applied proposal #%(id)s: the work moved from %(from)s to "
                     "%(to)s.") % {**values, "from": self.stage(data.get("from", "")),
                                   "to": self.stage(data.get("to", ""))}
        if kind == "transition.refused":
            failing = [g for g in data.get("guards", []) if not g.get("ok")]
            return _("%(who)s tried to apply proposal #%(id)s; it was refused: %(why)s") % {
                **values, "why": "; ".join(
                    f"{self.guard_name(g['guard'])}: {self.logged_verdict(g, work, network, pid)}"
                    for g in failing)}
        return _("%(who)s: %(type)s") % {**values, "type": kind}

    # ------------------------------------------------------------------ guards
    def logged_verdict(self, verdict: dict, work: Work, network: Network | None,
                       proposal_id) -> str:
        """A verdict as the log keeps it, in the reader's words from its figures; an entry
        logged without figures (older logs) can only repeat the engine's sentence."""
        proposal = work.proposal(proposal_id) if isinstance(proposal_id, int) else None
        figures = verdict.get("figures")
        if figures is None or network is None or proposal is None:
            return verdict.get("message", "")
        result = GuardResult(bool(verdict.get("ok")), verdict.get("guard", ""),
                             verdict.get("message", ""), figures)
        try:
            return self.guard(result, work, network, proposal)
        except (KeyError, TypeError, ValueError):
            return verdict.get("message", "")

    def guard_name(self, guard: str) -> str:
        _ = self.gettext
        return {
            "stage": _("Stage"), "quorum": _("Approvals"), "blocks": _("Blocks"),
            "separation_of_duties": _("Separation of duties"), "documents": _("Documents"),
            "observations_answered": _("Observations answered"),
            "tender_period": _("Minimum tender period"), "award_data": _("Award data"),
            "tender_observations": _("Observations filed during the tender"),
            "reason": _("Reason"),
        }.get(guard) or execution_words.guard_name(self, guard) or guard

    def guard(self, result: GuardResult, work: Work, network: Network,
              proposal: Proposal) -> str:
        """A guard's verdict in plain words: for a failing guard, what is still missing."""
        _ = self.gettext
        details = result.details
        if result.guard in execution_words.EXECUTION_GUARDS:  # tender calendar, execution
            return execution_words.guard_text(self, result)
        if result.guard == "quorum":
            needed, counted, sectors = details["needed"], details["counted"], details["sectors"]
            if result.ok:
                return _("%(count)s of %(needed)s approvals, from %(sectors)s sectors.") % {
                    "count": counted, "needed": needed, "sectors": sectors}
            missing = []
            if counted < needed:
                more = needed - counted
                missing.append(self.ngettext("%(num)s more approval", "%(num)s more approvals",
                                             more) % {"num": more})
            if sectors < details["min_sectors"]:
                more = details["min_sectors"] - sectors
                missing.append(self.ngettext(
                    "approvals from %(num)s more sector", "approvals from %(num)s more sectors",
                    more) % {"num": more})
            for sector in details["missing_sectors"]:
                missing.append(_("one approval from %(sector)s") % {
                    "sector": self.sector(sector)})
            text = _("Still missing: %(what)s.") % {"what": self.join(missing)}
            if details["red_flags"]:
                text += " " + _("The red flags raise the approvals needed to %(needed)s.") % {
                    "needed": needed}
            return text
        if result.guard == "blocks":
            if result.ok:
                return _("No one is blocking.")
            parts = []
            for block in details["blocks"]:
                member = network.member(block["user_id"])
                who = f"{member.username} ({member.organization})" if member \
                    else str(block["user_id"])
                parts.append(_("blocked by %(who)s: “%(why)s”") % {
                    "who": who, "why": block["reason"]})
            return "; ".join(parts) or result.message
        if result.guard == "documents":
            if result.ok:
                if not details["required"]:
                    return _("None required.")
                return _("Attached in this stage: %(kinds)s.") % {
                    "kinds": self.join([self.kind(k) for k in details["required"]])}
            missing = [self.kind(k) for k in details["missing"]]
            return _("Still missing in this stage: %(kinds)s.") % {"kinds": self.join(missing)}
        if result.guard in ("observations_answered", "tender_observations"):
            unanswered = details["unanswered"]
            if result.ok:
                return _("Every observation is answered.")
            return self.ngettext("%(num)s observation is unanswered.",
                                 "%(num)s observations are unanswered.",
                                 len(unanswered)) % {"num": len(unanswered)}
        if result.guard == "separation_of_duties":
            return _("The official who opened the proposal did not sign it off.") if result.ok \
                else _("The official who opened the proposal signed it off.")
        if result.guard == "stage":
            return _("Allowed from this stage.") if result.ok \
                else _("Not allowed from this stage.")
        # tender_period, award_data, reason: the engine's own words carry the figures.
        return result.message


def notice(words: Words, key: str) -> str:
    """The one-line confirmation shown on the page after a form succeeded."""
    _ = words.gettext
    if key.startswith("signoff_uncounted|"):  # an approval that is in the log but won't count
        return _("Your approval is in the log, but it does not count for now:") + " " + \
            words.exclusion(key.split("|", 1)[1])
    return {
        "logged_in": _("You are logged in."),
        "logged_out": _("You are logged out."),
        "work_registered": _("The work is registered."),
        "document_attached": _("The document is attached and listed in the log."),
        "observation_filed": _("Your observation is filed."),
        "observation_answered": _("The observation is answered."),
        "conflict_declared": _("Your conflict of interest is declared; your approvals on this "
                               "work will not count."),
        "proposal_opened": _("The proposal is open; the network's members can now review it."),
        "proposal_withdrawn": _("The proposal is withdrawn."),
        "signoff_approve": _("Your approval is recorded."),
        "signoff_block": _("Your block is recorded with its reason."),
        "signoff_withdraw": _("Your sign-off is withdrawn."),
        "proposal_applied": _("The stage change is applied."),
        "key_revoked": _("The key is revoked: sign-offs it signs from now on are refused."),
        "work_corrected": _("The correction is recorded, with its reason, in the timeline."),
        "answer_accepted": _("You accepted the answer."),
        "answer_rejected": _("You rejected the answer; the official must answer again."),
        "network_created": _("The network is created."),
        "organization_created": _("The organization is registered."),
        "member_added": _("The member is added to the network."),
        "member_removed": _("The member left the network; their approvals no longer count."),
        "policy_set": _("The new version of the rules is in force."),
        "user_deactivated": _("The user is deactivated: their token, password and sessions no "
                              "longer work."),
    }.get(key) or execution_words.notice_text(words, key) or key
