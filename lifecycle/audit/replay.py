"""`lifecycle audit replay DIR`: rebuild every network and work from a bundle and re-judge
every stage change (DESIGN §4, "Replay").

The state is rebuilt with the engine's own reducer (lifecycle.reducer.apply), and before each
`transition.applied` entry is applied, the guards of its trigger (lifecycle.guards.evaluate)
are re-run against the state just before it, at the entry's own time. A stage change is
reported when any guard fails, when its `from` is not the work's stage or its `to` is not where
the stage machine leads, when its proposal was not open, or when its author could not apply
it. That catches an operator who writes transitions past the guards and signs the log anyway:
the chain and signature are then perfect, but the history is not legal.

Replay reads the bundle in the same single pass with the verifier's checks (canonical bytes,
seq, prev, Merkle root against the signed checkpoint), so it never judges a history that does
not verify; the first integrity problem stops it.
"""

from __future__ import annotations

import gc
import pickle
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from lifecycle.audit import verify
from lifecycle.audit.verify import (
    CHECKPOINT_FILE,
    ENTRIES_FILE,
    MAX_LINE,
    ZERO_HASH,
    ProgressBar,
    _check_manifest,
    _Failed,
    _load_checkpoint,
    _load_key,
    _load_manifest,
    _default_workers,
    _read_text,
    chunk_results,
    prev_reason,
)
from lifecycle import permissions as may
from lifecycle.audit.judge import judge, who
from lifecycle.guards import GuardState, approval_tally, evaluate
from lifecycle.log.canonical import CanonicalError, decode_verified, parse_time
from lifecycle.log.merkle import StreamingRoot
from lifecycle.model import State, Work
from lifecycle.reducer import ReplayError, apply
from lifecycle.states import FINAL_STAGES, destination


@dataclass(frozen=True)
class Illegal:
    """An entry that was not legal when it was made: one failing rule. For a stage change,
    `trigger` and `work_id` say which; for any other entry, `trigger` is the entry's type."""

    seq: int
    trigger: str
    work_id: int | None
    guard: str
    message: str
    entry_type: str = "transition.applied"

    def __str__(self) -> str:
        if self.entry_type == "transition.applied":
            return (f"entry {self.seq}: {self.trigger} of work {self.work_id} not allowed: "
                    f"{self.guard}: {self.message}")
        return f"entry {self.seq}: {self.entry_type} not allowed: {self.guard}: {self.message}"


def _when(at: str) -> str:
    return f"{at[:10]} {at[11:16]}"


class ArchivedWork:
    """A finished work (closed or cancelled) while no entry names it: the work as pickled
    bytes, compressed, and the two fields a judge reads of every work (a SEACE import's code
    and source process must be new). The replayer restores the work, exactly as it was, before
    any entry about it is judged or applied."""

    __slots__ = ("code", "source_ocid", "blob")

    def __init__(self, work: Work):
        self.code = work.code
        self.source_ocid = work.source_ocid
        self.blob = zlib.compress(pickle.dumps(work, pickle.HIGHEST_PROTOCOL), 1)

    def restore(self) -> Work:
        return pickle.loads(zlib.decompress(self.blob))


class Replayer:
    """Feeds entries to the reducer, judging each applied transition before it is applied.

    With `work_id`, it also writes that work's timeline: who proposed what, who approved or
    blocked and why, and what each guard said.

    With `archive`, a work that reaches a final stage is kept as an ArchivedWork until an entry
    names it again, so memory grows with the works still open and a few kilobytes per finished
    one, not with the entries of every work ever finished. The state's finished works are then
    ArchivedWork stubs (`restore_all` brings them back); without `archive` (audit check, which
    compares the state with the projections) every work stays a Work."""

    def __init__(self, work_id: int | None = None, *, archive: bool = False):
        self.state = State()
        self.illegal: list[Illegal] = []
        self.transitions = 0
        self.work_id = work_id
        self.timeline: list[str] = []
        self.last_at = ""
        self.archive = archive
        self.archived = 0  # works archived (each time a finished work is put away)

    def restore_all(self) -> State:
        works = self.state.works
        for key, work in works.items():
            if type(work) is ArchivedWork:
                works[key] = work.restore()
        return self.state

    def _restore(self, work_id) -> None:
        try:
            work = self.state.works.get(work_id)
        except TypeError:  # an unhashable work_id: the judges and the reducer refuse it
            return
        if type(work) is ArchivedWork:
            self.state.works[work_id] = work.restore()

    def _put_away(self, work_id) -> None:
        if work_id is None or work_id == self.work_id:
            return
        try:
            work = self.state.works.get(work_id)
        except TypeError:
            return
        if type(work) is Work and work.stage in FINAL_STAGES:
            self.state.works[work_id] = ArchivedWork(work)
            self.archived += 1

    def feed(self, entry: dict) -> None:
        """Apply one entry; ReplayError when it cannot apply to the state before it."""
        data = entry["data"]
        if self.archive:
            self._restore(data.get("work_id"))
            self._feed(entry, data)
            self._put_away(data.get("work_id"))
        else:
            self._feed(entry, data)

    def _feed(self, entry: dict, data: dict) -> None:
        seq = entry["seq"]
        verdicts = None
        kind = entry["type"]
        when = entry.get("at")
        if isinstance(when, str):
            if when < self.last_at:
                self._report(entry, "time", f"{when} is earlier than the previous entry's "
                                            f"{self.last_at}")
            else:
                self.last_at = when
        elif when:
            self.last_at = max(self.last_at, when)  # not a time: the reducer refuses it
        if kind == "transition.applied":
            verdicts = self._judge(entry, data)
        else:
            try:
                at = parse_time(when)
            except (CanonicalError, TypeError, ValueError):
                at = None
            for refusal in judge(self.state, entry, at):
                self._report(entry, refusal.rule, refusal.message)
            if kind == "transition.refused":
                self._check_refusal_verdicts(entry, data)
        watched = self.work_id is not None and data.get("work_id") == self.work_id
        registered = entry["type"] == "work.registered"
        # Described against the state the entry was judged on, except a registration, which
        # has nothing to describe until the work exists.
        line = self._describe(entry, data, verdicts) if watched and not registered else None
        try:
            apply(self.state, entry)
        except ReplayError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ReplayError(f"cannot be replayed: {exc!r}") from exc
        if watched:
            if registered:
                line = self._describe_registration()
            self.timeline.append(f"entry {seq}  {_when(entry['at'])}  {self._who(entry)}  {line}")

    # ------------------------------------------------------------------ judging
    def _report(self, entry: dict, rule: str, message: str) -> None:
        self.illegal.append(Illegal(entry["seq"], entry["type"], entry["data"].get("work_id"),
                                    rule, message, entry["type"]))

    def _check_refusal_verdicts(self, entry: dict, data: dict) -> None:
        """A refusal must be one the guards gave: its verdicts equal the recomputed ones."""
        work = self.state.works.get(data.get("work_id"))
        pid = data.get("proposal_id")
        proposal = work.proposal(pid) if work is not None and type(pid) is int else None
        network = self.state.networks.get(work.network_id) if work is not None else None
        if proposal is None or network is None or proposal.status != "open":
            return
        try:
            results = evaluate(GuardState(work, network), proposal, network.policy,
                               parse_time(entry["at"]))
        except (CanonicalError, KeyError, TypeError, ValueError, AttributeError):
            return
        if [r.as_dict() for r in results] != data.get("guards"):
            self._report(entry, "verdicts", "the recorded verdicts differ from the guards' own")
        elif not any(not r.ok for r in results):
            self._report(entry, "verdicts", "every guard holds: the change was not refused by "
                                            "them")

    def _judge(self, entry: dict, data: dict) -> list | None:
        """Re-run the guards of an applied transition; record every reason it was illegal.
        Returns the recomputed verdicts (None when the entry cannot be judged at all: the
        reducer then refuses it)."""
        work = self.state.works.get(data.get("work_id"))
        pid = data.get("proposal_id")
        proposal = work.proposal(pid) if work is not None and type(pid) is int else None
        if proposal is None:
            return None
        network = self.state.networks.get(work.network_id)
        if network is None:
            return None
        self.transitions += 1
        seq, trigger = entry["seq"], data.get("trigger")
        problems: list[tuple[str, str]] = []
        if proposal.status != "open":
            problems.append(("proposal", f"proposal {pid} was {proposal.status}, not open"))
        if trigger != proposal.trigger:
            problems.append(("proposal", f"the entry says {trigger}, proposal {pid} proposed "
                                         f"{proposal.trigger}"))
        problems += self._permission(entry["actor"], work)
        origin = (work.suspended_from or {}).get("stage")
        dest = destination(work.stage, proposal.trigger, origin)
        if data.get("from") != work.stage:
            problems.append(("stage", f"the entry says from {data.get('from')}, the work was "
                                      f"in {work.stage}"))
        if dest is not None and data.get("to") != dest:
            problems.append(("stage", f"the entry says to {data.get('to')}, "
                                      f"{proposal.trigger} leads from {work.stage} to {dest}"))
        try:
            results = evaluate(GuardState(work, network), proposal, network.policy,
                               parse_time(entry["at"]))
        except (CanonicalError, KeyError, TypeError, ValueError, AttributeError) as exc:
            results = []
            problems.append(("guards", f"could not be evaluated: {exc!r}"))
        problems += [(r.guard, r.message) for r in results if not r.ok]
        if results and not problems and [r.as_dict() for r in results] != data.get("guards"):
            problems.append(("verdicts", "the recorded verdicts differ from the recomputed ones"))
        for guard, message in problems:
            self.illegal.append(Illegal(seq, str(trigger), work.id, guard, message))
        return results

    def _permission(self, actor: dict, work: Work) -> list[tuple[str, str]]:
        """Only an official of the work's entity (or the system itself) applies a proposal:
        the live service's own predicate (lifecycle.permissions)."""
        person, refusals = who(self.state, actor)
        if person is None:
            return [(r.rule, r.message) for r in refusals]
        if person.role not in ("official", "system"):
            return [("permission", f"user {actor.get('id')!r} is not an official")]
        if not may.is_official_of(person, work):
            return [("permission", f"{person.username} acts for {person.entity}; the work "
                                   f"belongs to {work.entity}")]
        return []

    # ------------------------------------------------------------------ timeline

    def _who(self, entry: dict) -> str:
        actor = entry["actor"]
        user = self.state.users.get(actor.get("id"))
        return user.username if user is not None else str(actor.get("id"))

    def _member(self, user_id, network_id) -> str:
        network = self.state.networks.get(network_id)
        member = network.member(user_id) if network is not None and type(user_id) is int \
            else None
        return f" ({member.organization}, {member.sector})" if member else ""

    def _describe(self, entry: dict, data: dict, verdicts) -> str:
        """One line (plus indented detail) for an entry about the watched work. Called before
        the entry is applied, with the state it was judged against."""
        kind = entry["type"]
        work = self.state.works.get(data.get("work_id"))
        if work is None:
            return kind
        if kind == "document.attached":
            return (f"attached {data.get('kind')} \u201c{data.get('title')}\u201d "
                    f"({data.get('filename')}, sha256 {str(data.get('sha256'))[:16]}…) "
                    f"in stage {work.stage}")
        if kind == "observation.filed":
            return f"filed observation #{data.get('observation_id')}: {data.get('text')}"
        if kind == "observation.answered":
            return f"answered observation #{data.get('observation_id')}: {data.get('text')}"
        if kind == "conflict.declared":
            return f"declared a conflict of interest: {data.get('statement')}"
        if kind == "proposal.opened":
            text = (f"opened proposal #{data.get('proposal_id')}: {data.get('trigger')} "
                    f"\u2014 \u201c{data.get('justification')}\u201d")
            if data.get("award"):
                award = data["award"]
                text += (f"; award to {award.get('supplier')} for {award.get('amount')} "
                         f"{work.currency}, {award.get('bidders')} bidder(s)")
            if data.get("red_flags"):
                text += f"; red flags: {', '.join(data['red_flags'])}"
            return text
        if kind == "proposal.withdrawn":
            return f"withdrew proposal #{data.get('proposal_id')}"
        if kind == "signoff.recorded":
            who = self._member(entry["actor"].get("id"), work.network_id)
            verb = {"approve": "approves", "block": "blocks", "withdraw": "withdraws their "
                    "sign-off from"}.get(data.get("decision"), str(data.get("decision")))
            reason = f": {data['reason']}" if data.get("reason") else ""
            return f"{verb} proposal #{data.get('proposal_id')}{who}{reason}"
        if kind == "transition.refused":
            lines = [f"applying proposal #{data.get('proposal_id')} ({data.get('trigger')}) "
                     "was refused"]
            lines += [f"      \u2717 {g.get('guard')}: {g.get('message')}"
                      for g in data.get("guards", []) if not g.get("ok")]
            return "\n".join(lines)
        if kind == "transition.applied":
            return self._describe_transition(entry, data, work, verdicts)
        return kind

    def _describe_transition(self, entry, data, work, verdicts) -> str:
        lines = [f"applied proposal #{data.get('proposal_id')}: {data.get('trigger')}, "
                 f"{data.get('from')} \u2192 {data.get('to')}"]
        for result in verdicts or []:
            lines.append(f"      {'✓' if result.ok else '✗'} {result.guard}: {result.message}")
        proposal = work.proposal(data.get("proposal_id")) if type(
            data.get("proposal_id")) is int else None
        network = self.state.networks.get(work.network_id)
        if proposal is not None and network is not None:
            for tallied in approval_tally(GuardState(work, network), proposal):
                user = self.state.users.get(tallied.signoff.user_id)
                name = user.username if user else f"user {tallied.signoff.user_id}"
                status = "counts" if tallied.excluded is None else \
                    f"does not count: {tallied.excluded}"
                lines.append(f"      approval by {name}: {status}")
        illegal = [i for i in self.illegal if i.seq == entry["seq"]]
        if illegal:
            lines.append("      NOT ALLOWED when it was made: " +
                         "; ".join(f"{i.guard}: {i.message}" for i in illegal))
        return "\n".join(lines)

    def _describe_registration(self) -> str:
        work = self.state.works[self.work_id]
        network = self.state.networks.get(work.network_id)
        return (f"registered {work.code} \u201c{work.title}\u201d for {work.entity} "
                f"({work.region}), reference amount {work.reference_amount} {work.currency}, "
                f"overseen by {network.name if network else work.network_id}")


@dataclass
class ReplayReport:
    ok: bool
    size: int = 0
    problem: str | None = None  # the bundle does not verify: nothing was judged past it
    illegal: list[Illegal] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    networks: int = 0
    works: int = 0
    transitions: int = 0
    timeline: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        if self.problem:
            return self.problem
        text = (f"{self.size} entries replayed: {self.networks} networks, {self.works} works, "
                f"{self.transitions} stage changes re-judged")
        if self.illegal:
            changes = len({i.seq for i in self.illegal})
            return f"{text}; {changes} were not allowed when they were made"
        return f"ok: {text}, every one legal when it was made"


def replay_bundle(directory, *, vkey: Path | str | None = None, work_id: int | None = None,
                  workers: int | None = None, progress: bool = False) -> ReplayReport:
    """Verify and replay the bundle in `directory` in one pass."""
    directory = Path(directory)
    report = ReplayReport(ok=False)
    replayer = Replayer(work_id, archive=True)
    # The rebuilt state only grows and holds no reference cycles, yet the cyclic collector would
    # rescan it over and over as it grows: that doubled the replay time. Off while replaying.
    collecting = gc.isenabled()
    gc.disable()
    try:
        _replay(directory, vkey, replayer, report, workers, progress)
        if work_id is not None and work_id not in replayer.state.works:
            raise _Failed(f"work {work_id} is not in the log")
    except _Failed as exc:
        report.problem = str(exc)
    finally:
        if collecting:
            gc.enable()
    report.illegal = replayer.illegal
    report.timeline = replayer.timeline
    report.networks = len(replayer.state.networks)
    report.works = len(replayer.state.works)
    report.transitions = replayer.transitions
    report.ok = report.problem is None and not report.illegal
    return report


def _replay(directory: Path, vkey, replayer: Replayer, report: ReplayReport,
            workers: int | None, progress: bool) -> None:
    if not directory.is_dir():
        raise _Failed(f"{directory}: not a folder")
    verifier = _load_key(directory, vkey, report.warnings)
    size, signed_root = _load_checkpoint(
        _read_text(directory / CHECKPOINT_FILE, CHECKPOINT_FILE)
        if (directory / CHECKPOINT_FILE).exists() else None, verifier, "checkpoint")
    manifest = _load_manifest(directory)
    entries = directory / ENTRIES_FILE
    if not entries.is_file():
        raise _Failed(f"{ENTRIES_FILE}: missing")
    chunk_tree, tail, prev, seq = StreamingRoot(), [], ZERO_HASH, 0
    last_at: str | None = None
    bar = ProgressBar(progress, size, "replaying entries")
    feed = replayer.feed
    try:
        # Worker processes (for large bundles) verify chunks ahead while this one replays.
        for start, blob, chunk in chunk_results(entries, workers or _default_workers(entries),
                                                keep=True):
            if chunk is None:
                raise _Failed(f"entry {start}: the line is longer than {MAX_LINE} bytes")
            if chunk.first_prev is not None and chunk.first_prev != prev:
                raise _Failed(f"entry {start}: {prev_reason(start)}")
            backwards = verify.times_run_backwards(chunk, last_at)
            if backwards:
                raise _Failed(backwards)
            last_at = chunk.last_at or last_at
            checked = chunk.entries
            if checked is None:  # verified by a worker: decode the same bytes again here, one
                # line at a time (a chunk of decoded entries would hold tens of megabytes)
                checked = map(decode_verified, blob.split(b"\n", chunk.checked)[:chunk.checked])
            for entry in checked:  # entries before a problem still replay: they come first
                try:
                    feed(entry)
                except ReplayError as exc:
                    raise _Failed(f"entry {entry['seq']}: {exc}") from None
            if chunk.problem:
                raise _Failed(f"entry {chunk.problem[0]}: {chunk.problem[1]}")
            if chunk.checked == verify.CHUNK:
                chunk_tree.add(chunk.frontier[0])
            else:
                tail = chunk.frontier
            seq += chunk.checked
            prev = chunk.last_leaf.hex() if chunk.last_leaf else prev
            bar.advance(chunk.checked)
    finally:
        bar.close()
    report.size = seq
    verify.check_size_and_root(seq, size, chunk_tree.frontier + tail, signed_root)
    _check_manifest(manifest, verifier.origin, size, signed_root)


def replay_entries(entries, work_id: int | None = None) -> Replayer:
    """Judge already-verified entries (dicts, in seq order), e.g. the live log in `audit
    check`. ReplayError carries the entry number."""
    replayer = Replayer(work_id)
    for entry in entries:
        try:
            replayer.feed(entry)
        except ReplayError as exc:
            raise ReplayError(f"entry {entry.get('seq')}: {exc}") from exc
    return replayer
