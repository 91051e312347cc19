"""Offline checks of witness cosignatures for `lifecycle audit verify --policy` (DESIGN §4.4).

Given the witness policy (the auditor's `--policy FILE`, else the bundle's `witnesses.policy`)
and the bundle's checkpoint note:
- each policy witness's cosignature/v1 line is verified against the checkpoint body; a line
  that claims a policy witness's key and does not verify is a failure, not an omission;
- the quorum is evaluated and the report says which witnesses signed and which did not;
- cosignature times bound the entries' times: a witness that cosigned size N at time T has seen
  entries 0 … N-1, so an entry dated after T (to the second) was dated falsely (it claims to
  be newer than a checkpoint that already contained it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from lifecycle.evidence.policy import POLICY_FILE, Policy, PolicyError, load_policy, parse_policy
from lifecycle.log.canonical import decode_verified
from lifecycle.log.note import NoteError, Verifier


CLOCK_SKEW_SECONDS = 60  # a witness's clock may lag the log's by this much without an alarm


class WitnessAuditError(ValueError):
    """The cosignatures or the policy do not hold; the message is the auditor's line."""


@dataclass(frozen=True)
class WitnessReport:
    signed: tuple[str, ...]  # witness names whose cosignature verified
    missing: tuple[str, ...]
    quorum: str  # the rule, in words
    satisfied: bool
    first: tuple[str, int] | None  # (witness, POSIX time) of the earliest cosignature
    times: tuple[tuple[str, int | None], ...] = ()  # every policy witness, in policy order

    @property
    def summary(self) -> str:
        who = ", ".join(self.signed) if self.signed else "no witness"
        return f"witnessed by {who} (quorum: {self.quorum})"


def load_audit_policy(directory: Path, policy: Path | str | None,
                      warnings: list[str]) -> Policy | None:
    """The policy to check against: the given one (a Path or its text), else the bundle's
    own (with a warning, as for the bundle's key), else None (nothing to check)."""
    try:
        if isinstance(policy, Path):
            return load_policy(policy)
        if isinstance(policy, str):
            return parse_policy(policy)
        shipped = directory / POLICY_FILE
        if shipped.exists():
            warnings.append(f"no --policy given: checking the bundle's own {POLICY_FILE}; "
                            "compare it with the policy the operator publishes")
            return load_policy(shipped)
    except PolicyError as exc:
        raise WitnessAuditError(f"witness policy: {exc}") from None
    return None


def check_log_key(policy: Policy, verifier: Verifier) -> None:
    """Rule: when the policy lists logs, the checkpoint's key must be one of them."""
    if policy.logs and all(log.public_key != verifier.public_key or log.origin !=
                           verifier.origin for log in policy.logs):
        raise WitnessAuditError("checkpoint: signed by a log key the witness policy does not "
                                "list")


def witness_report(policy: Policy, note: str) -> WitnessReport:
    """Which policy witnesses validly cosigned `note`, and whether the quorum holds."""
    signed, missing, first, times = [], [], None, []
    for witness in policy.witnesses:
        try:
            cosignature = witness.verifier.find(note)
        except NoteError as exc:
            raise WitnessAuditError(f"checkpoint: witness {witness.name}: {exc}") from None
        times.append((witness.name, cosignature.timestamp if cosignature else None))
        if cosignature is None:
            missing.append(witness.name)
            continue
        signed.append(witness.name)
        if first is None or cosignature.timestamp < first[1]:
            first = (witness.name, cosignature.timestamp)
    return WitnessReport(tuple(signed), tuple(missing), policy.describe_quorum(),
                         policy.satisfied(set(signed)), first, tuple(times))


def require_quorum(report: WitnessReport) -> None:
    if not report.satisfied:
        raise WitnessAuditError(
            "checkpoint: the witness cosignatures do not satisfy the policy "
            f"(quorum: {report.quorum}); cosigned by "
            f"{', '.join(report.signed) or 'no witness'}, not by {', '.join(report.missing)}: "
            "the log may be showing this history to some people only (a split view)")


def late_entry(entries: Path, bounds: list[tuple[int, str, int]]) -> str | None:
    """The first entry dated after a cosignature that covers it, as the auditor's line; None
    when all are in time. `bounds` are (size, witness, POSIX time): that witness cosigned a
    checkpoint of `size` entries at that time, so entries 0 … size-1 existed then. Entries are
    compared to the second (cosignature times are whole seconds), allowing
    CLOCK_SKEW_SECONDS for a witness clock behind the log's."""
    if not bounds:
        return None
    ordered = sorted(bounds)  # by size; an entry is bound by every checkpoint larger than it
    earliest: list[tuple[int, str, int]] = []  # for ordered[i:], the earliest cosignature
    for size, witness, timestamp in reversed(ordered):
        if not earliest or timestamp < earliest[-1][2]:
            earliest.append((size, witness, timestamp))
        else:
            earliest.append(earliest[-1])
    earliest.reverse()
    index = 0
    with open(entries, "rb") as handle:
        for seq, line in enumerate(handle):
            while index < len(ordered) and ordered[index][0] <= seq:
                index += 1
            if index == len(ordered):
                break
            size, witness, timestamp = earliest[index]
            bound = datetime.fromtimestamp(timestamp + CLOCK_SKEW_SECONDS, timezone.utc
                                           ).strftime("%Y-%m-%dT%H:%M:%S")
            at = decode_verified(line)["at"]  # lines already verified: valid, canonical entries
            if at[:19] > bound:
                cosigned = datetime.fromtimestamp(timestamp, timezone.utc).strftime(
                    "%Y-%m-%dT%H:%M:%SZ")
                return (f"entry {seq}: dated {at}, after witness {witness} cosigned a "
                        f"checkpoint of {size} entries that contains it at {cosigned} (the "
                        "entry's time was falsified)")
    return None
