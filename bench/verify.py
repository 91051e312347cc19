"""Benchmark: offline verify and replay of an export bundle (not a test; prints figures).

    python bench/verify.py                 # 200,000 entries
    python bench/verify.py --million       # 1,000,000 entries
    python bench/verify.py --entries 50000 --keep /tmp/bundle
    python bench/verify.py --bundle /tmp/bundle   # time an existing bundle again

It writes a bundle directly as files (no database): a simulated history of integrity
networks overseeing works through every stage — organizations, entities, documents,
observations, tender milestones, proposals, signed approvals and blocks, refused and applied
transitions, suspensions, void tenders, cancellations — with each transition's guard verdicts
computed by the engine's own guards, signed with a fresh key. The history is legal under the
current rules: replay must find nothing (the run says MISSED otherwise). Then it times, in the
same run:

- baseline: a loop in this process that only parses each line (json.loads) and hashes it;
- floor: the baseline plus one Ed25519 check per signed sign-off (keys loaded and messages
  computed beforehand): what any verifier of the member signatures pays on one core;
- `lifecycle audit verify` and `lifecycle audit replay`, each its own child process;

and prints entries/s, the ratios to the baseline and the floor, and each command's own CPU
time and peak memory (os.wait4: the command's process and the worker processes it waited
for, never another command's) with the load average before it ran.
Targets (issue #14): verify >= 0.9 x baseline; replay >= 0.5 x baseline; at 1,000,000 entries
verify under 150 MB and replay under 300 MB.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lifecycle.audit.export import write_bundle_files  # noqa: E402
from lifecycle.calendar import lima_date  # noqa: E402
from lifecycle.audit.verify import CHECKPOINT_FILE, ENTRIES_FILE, VKEY_FILE  # noqa: E402
from lifecycle.guards import GuardState, evaluate  # noqa: E402
from lifecycle.log.canonical import format_time  # noqa: E402
from lifecycle.log.merkle import StreamingRoot  # noqa: E402
from lifecycle.log.note import checkpoint_body, generate_signing_key  # noqa: E402
from lifecycle.model import State  # noqa: E402
from lifecycle.reducer import apply  # noqa: E402
from lifecycle.states import destination  # noqa: E402
from lifecycle.validation import ruc_check_digit  # noqa: E402
from lifecycle.evidence.ed25519 import public_key_bytes  # noqa: E402
from lifecycle.evidence.keys import key_id_for  # noqa: E402
from lifecycle.evidence.signature_audit import SignatureAudit, entry_type  # noqa: E402
from lifecycle.evidence.statement import DOSSIER_TYPES, LogHead, b64url, new_statement  # noqa: E402,E501
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402,E501

ORIGIN = "bench.lifecycle.example/log"
REGIONS = ["Lambayeque", "Piura", "La Libertad", "Cusco", "Junín", "Ayacucho", "Loreto"]
MEMBERS = [  # organization template, sector, constituencies, organization kind
    ("Mesa de Concertación de Mujeres de {r}", "civil_society", ["women"], "ngo"),
    ("Cámara de Comercio de {r}", "private_sector", [], "association"),
    ("Colegio de Ingenieros del Perú – {r}", "professional_association", ["youth"],
     "association"),
    ("Universidad Nacional de {r}", "academia", ["indigenous"], "university"),
    ("Gobierno Regional de {r}", "government", [], "public_entity"),  # the works' own entity
    ("Federación de Comunidades Nativas de {r}", "civil_society", ["indigenous"], "association"),
    ("Colegio de Arquitectos del Perú – {r}", "professional_association", [], "association"),
]
WORK_KINDS = ["Mejoramiento de la carretera", "Ampliación del servicio de agua potable en",
              "Construcción del puesto de salud de", "Rehabilitación del colegio de",
              "Creación del puente peatonal de", "Mejoramiento del canal de riego de"]
PLACES = ["Ferreñafe", "Motupe", "Olmos", "Túcume", "Íllimo", "Jayanca", "Mórrope", "Pítipo"]
APPROVE_REASONS = ["", "", "Revisé el expediente técnico: conforme.",
                   "Conforme con los documentos adjuntos.", "Sin observaciones."]
BLOCK_REASONS = ["Falta el sustento del presupuesto.",
                 "El estudio de suelos no corresponde a la zona.",
                 "Las especificaciones técnicas direccionan a una marca."]
STAGE_PATH = [("approve_design", ("feasibilityStudy",)),
              ("publish_tender", ("technicalSpecifications", "budgetApproval")),
              ("award", ("evaluationReports",)),
              ("sign_contract", ("contractSigned",)),
              ("close", ("completionCertificate",))]
NEXT_STEP = {stage: step for stage, step in zip(
    ("design", "technical_file", "tender", "award", "execution"), STAGE_PATH)}
HOUR = 3600
DAY = 24 * HOUR

_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, sort_keys=True,
                          separators=(",", ":")).encode


class Simulation:
    """Writes a legal history straight to entries.jsonl, keeping only live works in memory."""

    def __init__(self, out, size: int, seed: int = 7):
        self.out = out
        self.size = size
        self.random = random.Random(seed)
        self.state = State()
        self.tree = StreamingRoot()
        self.prev = "0" * 64
        self.clock = datetime(2021, 1, 4, 13, 0, tzinfo=timezone.utc)
        self.queue: list = []
        self.counter = 0
        self.next_user = 1
        self.next_work = 1
        self.networks: list[dict] = []
        self.member_keys: dict[int, tuple] = {}  # user id -> (Ed25519 key, key id)
        self.dossiers: dict[int, str] = {}  # work id -> leaf hash of its latest change

    # ------------------------------------------------------------------ writing
    def emit(self, type_: str, actor: dict, data: dict) -> dict:
        entry = {"v": 1, "seq": self.tree.size, "prev": self.prev, "at": format_time(self.clock),
                 "type": type_, "actor": actor, "data": data}
        raw = _dumps(entry).encode("utf-8")
        leaf = hashlib.sha256(b"\x00" + raw).digest()
        self.out.write(raw + b"\n")
        self.tree.add(leaf)
        self.prev = leaf.hex()
        if type_ in DOSSIER_TYPES:
            self.dossiers[data["work_id"]] = leaf.hex()
        apply(self.state, entry)
        return entry

    def done(self) -> bool:
        return self.tree.size >= self.size

    def user(self, username: str, role: str, entity: str | None = None,
             organization_id: int | None = None) -> dict:
        user_id = self.next_user
        self.next_user += 1
        data = {"user_id": user_id, "username": username, "role": role, "entity": entity}
        if organization_id is not None:
            data["organization_id"] = organization_id
        self.emit("user.registered", {"id": "system", "role": "system"}, data)
        return {"id": user_id, "role": role}

    def organization(self, admin: dict, name: str, kind: str, sector: str, region: str) -> int:
        """An organization registered by the admin (DESIGN §3); public entities with a RUC."""
        organization_id = len(self.state.organizations) + 1
        data = {"organization_id": organization_id, "name": name, "kind": kind,
                "sector": sector, "region": region}
        if kind in ("public_entity", "company"):
            first_ten = f"20{organization_id:08d}"
            data["tax_id"] = first_ten + str(ruc_check_digit(first_ten))
        self.emit("organization.registered", admin, data)
        return organization_id

    # ------------------------------------------------------------------ set-up
    def setup(self) -> None:
        admin = self.user("admin", "admin")
        for number, region in enumerate(REGIONS, start=1):
            self.emit("network.created", admin, {"network_id": number,
                                                 "name": f"Red de Integridad {region}",
                                                 "region": region})
            entity = f"Gobierno Regional de {region}"
            slug = region.lower().replace(" ", "").replace("í", "i")
            organizations = [self.organization(admin, org.format(r=region), kind, sector, region)
                             for org, sector, _, kind in MEMBERS]
            entity_id = organizations[[m[3] for m in MEMBERS].index("public_entity")]
            official = self.user(f"oficial.{slug}", "official", entity, entity_id)
            members = []
            for index, (org, sector, constituencies, _) in enumerate(MEMBERS):
                member = self.user(f"m{index}.{slug}", "member", None, organizations[index])
                self.emit("member.joined", admin, {
                    "network_id": number, "user_id": member["id"], "username": f"m{index}.{slug}",
                    "organization": org.format(r=region), "sector": sector,
                    "constituencies": constituencies, "organization_id": organizations[index]})
                members.append((member, sector))
                self.register_key(member)
            if number % 3 == 0:  # some networks tighten their policy
                policy = self.state.networks[number].policy.settings()
                policy.update(min_approvals=4, min_tender_days=20)
                self.emit("policy.set", admin, {"network_id": number, "version": 2,
                                                "policy": policy})
            self.networks.append({"id": number, "region": region, "entity": entity,
                                  "entity_id": entity_id, "official": official,
                                  "members": members})

    # ------------------------------------------------------------------ scheduling
    def schedule(self, script, delay: int) -> None:
        self.counter += 1
        due = self.clock + timedelta(seconds=delay)
        heapq.heappush(self.queue, (due, self.counter, script))

    def run(self, active_works: int) -> None:
        self.setup()
        for _ in range(active_works):
            self.schedule(self.work_script(), self.random.randint(0, 30 * DAY))
        while not self.done():
            due, _, script = heapq.heappop(self.queue)
            self.clock = max(self.clock, due) + timedelta(microseconds=self.random.randint(1, 999))
            try:
                delay = next(script)
            except StopIteration:
                self.schedule(self.work_script(), self.random.randint(HOUR, 10 * DAY))
                continue
            self.schedule(script, delay)

    # ------------------------------------------------------------------ one work
    def work_script(self):
        """A work's life; each `yield` is one entry followed by the delay to the next."""
        rnd = self.random
        network = rnd.choice(self.networks)
        official = network["official"]
        work_id = self.next_work
        self.next_work += 1
        amount = rnd.randint(200_000, 40_000_000)
        self.emit("work.registered", official, {
            "work_id": work_id, "code": f"{network['region'][:3].upper()}-{work_id:06d}",
            "title": f"{rnd.choice(WORK_KINDS)} {rnd.choice(PLACES)}",
            "entity": network["entity"], "entity_id": network["entity_id"],
            "region": network["region"], "network_id": network["id"], "reference_amount": f"{amount}.00", "currency": "PEN"})
        yield rnd.randint(HOUR, 20 * DAY)
        work = self.state.works[work_id]
        while work.stage not in ("closure", "cancelled"):
            trigger, documents = NEXT_STEP[work.stage]
            if work.stage in ("tender", "award", "execution") and rnd.random() < 0.03:
                yield from self.suspend_and_resume(work, network)
            if trigger == "award" and rnd.random() < 0.06:
                trigger = "declare_void"  # tender void: the file is revised and re-tendered
            if rnd.random() < 0.01:
                trigger, documents = "cancel", ("cancellationDetails",)
            if trigger == "award":
                yield from self.milestone(work, official, "bases_integrated")
                wait = self.state.networks[network["id"]].policy.min_tender_days
                yield (wait + rnd.randint(1, 10)) * DAY
                yield from self.milestone(work, official, "offers_opened")
            if trigger == "sign_contract":  # the appeal window after the buena pro
                yield rnd.randint(12, 20) * DAY
            for kind in documents:
                yield from self.attach(work, official, kind)
            if trigger == "publish_tender":
                yield from self.observations(work, network)
            if rnd.random() < 0.05:
                member, _ = rnd.choice(network["members"])
                if not work.conflicted(member["id"]):
                    self.emit("conflict.declared", member, {
                        "work_id": work_id, "statement": "Mi empresa participa como proveedora."})
                    yield rnd.randint(HOUR, DAY)
            yield from self.decide(work, network, trigger, retry=True)
        del self.state.works[work_id]  # finished: nothing refers to it again

    def milestone(self, work, official, code: str):
        """A tender milestone, dated the day it is recorded (Lima time)."""
        self.emit("milestone.recorded", official, {
            "work_id": work.id, "milestone_id": len(work.milestones) + 1, "code": code,
            "date": lima_date(self.clock).isoformat()})
        yield self.random.randint(HOUR, 2 * DAY)

    def attach(self, work, official, kind: str):
        number = len(work.documents) + 1
        digest = hashlib.sha256(f"{work.id}/{number}".encode()).hexdigest()
        self.emit("document.attached", official, {
            "work_id": work.id, "document_id": number, "kind": kind,
            "title": f"{kind} – {work.code}", "filename": f"{kind}-{work.code}.pdf",
            "media_type": "application/pdf", "sha256": digest,
            "size": self.random.randint(40_000, 9_000_000)})
        yield self.random.randint(HOUR, 3 * DAY)

    def observations(self, work, network):
        for _ in range(self.random.choice((0, 1, 1, 2))):
            member, _ = self.random.choice(network["members"])
            number = len(work.observations) + 1
            self.emit("observation.filed", member, {
                "work_id": work.id, "observation_id": number,
                "text": "El metrado de partidas no coincide con los planos."})
            yield self.random.randint(HOUR, 5 * DAY)
            self.emit("observation.answered", network["official"], {
                "work_id": work.id, "observation_id": number,
                "text": "Se corrigió el metrado; se adjunta la versión revisada."})
            yield self.random.randint(HOUR, 2 * DAY)

    def suspend_and_resume(self, work, network):
        official = network["official"]
        yield from self.open(work, official, "suspend", "Paralización por lluvias intensas.")
        yield from self.apply_open(work, official)
        yield self.random.randint(5 * DAY, 60 * DAY)
        yield from self.decide(work, network, "resume")

    def open(self, work, official, trigger: str, justification: str, award=None):
        network = self.state.networks[work.network_id]
        data = {"work_id": work.id, "proposal_id": len(work.proposals) + 1, "trigger": trigger,
                "justification": justification, "red_flags": []}
        if award is not None:
            from lifecycle.guards import red_flags

            data["award"] = award
            data["red_flags"] = red_flags(work.reference_amount, award, network.policy)
        self.emit("proposal.opened", official, data)
        yield self.random.randint(HOUR, 2 * DAY)

    def apply_open(self, work, official):
        """Apply the open proposal: every guard decides, exactly as the service does."""
        proposal = work.open_proposal
        network = self.state.networks[work.network_id]
        results = evaluate(GuardState(work, network), proposal, network.policy, self.clock)
        verdicts = [r.as_dict() for r in results]
        data = {"work_id": work.id, "proposal_id": proposal.id, "trigger": proposal.trigger}
        if all(r.ok for r in results):
            origin = (work.suspended_from or {}).get("stage")
            data.update({"from": work.stage, "to": destination(work.stage, proposal.trigger,
                                                               origin), "guards": verdicts})
            self.emit("transition.applied", official, data)
        else:
            data.update({"stage": work.stage, "guards": verdicts})
            self.emit("transition.refused", official, data)
        yield self.random.randint(HOUR, DAY)

    def register_key(self, member: dict) -> None:
        """Each member signs with an Ed25519 key of their own (DESIGN §4.3)."""
        private = Ed25519PrivateKey.generate()
        raw = public_key_bytes(private)
        key_id = key_id_for("ed25519", raw)
        self.emit("key.registered", member, {"user_id": member["id"], "key_id": key_id,
                                             "kind": "ed25519", "alg": "EdDSA",
                                             "public_key": b64url(raw)})
        self.member_keys[member["id"]] = (private, key_id)

    def sign(self, work, member, decision: str, reason: str = ""):
        proposal = work.open_proposal
        data = {"work_id": work.id, "proposal_id": proposal.id, "decision": decision}
        if reason:
            data["reason"] = reason
        statement = new_statement(
            log=ORIGIN, work_id=work.id, proposal_id=proposal.id, trigger=proposal.trigger,
            decision=decision, reason=reason, member_id=member["id"],
            dossier=self.dossiers[work.id], head=LogHead(self.tree.size, self.tree.root().hex()))
        private, key_id = self.member_keys[member["id"]]
        data["statement"] = statement.as_dict()
        data["proof"] = {"kind": "ed25519", "key_id": key_id,
                         "signature": b64url(private.sign(statement.message()))}
        self.emit("signoff.recorded", member, data)
        yield self.random.randint(10 * 60, 2 * DAY)

    def decide(self, work, network, trigger: str, retry: bool = False):
        """Open a proposal, gather sign-offs (sometimes a block first, sometimes an early
        apply that is refused), and apply it."""
        rnd = self.random
        official = network["official"]
        award = None
        if trigger == "award":  # a retry comes without red flags, so it can pass
            reference = int(work.reference_amount.split(".")[0])
            award = {"supplier": f"Consorcio {rnd.choice(PLACES)} {work.id}",
                     "amount": f"{int(reference * rnd.uniform(0.85, 1.0 if retry else 1.15))}.00",
                     "bidders": rnd.choice((2, 3, 4) if retry else (1, 2, 3, 4, 5, 7))}
        yield from self.open(work, official, trigger, "Cumple con lo exigido para esta etapa.",
                             award)
        if trigger == "suspend":
            yield from self.apply_open(work, official)
            return
        members = [m for m, sector in network["members"] if sector != "government"]
        government = [m for m, sector in network["members"] if sector == "government"]
        rnd.shuffle(members)
        blocker = members[-1] if rnd.random() < 0.15 else None
        if blocker:
            yield from self.sign(work, blocker, "block", rnd.choice(BLOCK_REASONS))
        if rnd.random() < 0.2:
            yield from self.sign(work, government[0], "approve", rnd.choice(APPROVE_REASONS))
        if rnd.random() < 0.1:  # an impatient official applies too early: refused
            yield from self.sign(work, members[0], "approve", rnd.choice(APPROVE_REASONS))
            yield from self.apply_open(work, official)
        for member in members:  # every independent member approves, the blocker last
            yield from self.sign(work, member, "approve", rnd.choice(APPROVE_REASONS))
        yield from self.apply_open(work, official)
        if work.open_proposal is not None:  # still refused (conflicts, red flags): withdraw
            self.emit("proposal.withdrawn", official,
                      {"work_id": work.id, "proposal_id": work.open_proposal.id})
            yield rnd.randint(HOUR, DAY)
            yield from self.decide(work, network, trigger, retry=True)


def generate(directory: Path, size: int, active_works: int = 600) -> float:
    start = time.perf_counter()
    directory.mkdir(parents=True, exist_ok=True)
    keys = Path(tempfile.mkdtemp(prefix="bench-key-"))
    signer = generate_signing_key(keys, ORIGIN)
    with open(directory / ENTRIES_FILE, "wb", buffering=1 << 20) as out:
        simulation = Simulation(out, size)
        simulation.run(active_works)
    size, root = simulation.tree.size, simulation.tree.root()
    write_bundle_files(directory, origin=ORIGIN, size=size, root=root,
                       checkpoint=signer.sign(checkpoint_body(ORIGIN, size, root)),
                       vkey=(keys / "log.vkey").read_text(), exported_at=format_time(
                           datetime.now(timezone.utc)))
    shutil.rmtree(keys)
    return time.perf_counter() - start


def baseline(path: Path) -> tuple[int, float]:
    """Only parse each line and hash it: the floor any verifier has to pay."""
    loads, sha256 = json.loads, hashlib.sha256
    start = time.perf_counter()
    count = 0
    with open(path, "rb") as handle:
        for line in handle:
            loads(line)
            sha256(b"\x00" + line[:-1]).digest()
            count += 1
    return count, time.perf_counter() - start


def signature_checks(path: Path) -> tuple[int, int, float]:
    """The member-signature checks of verify alone, in-process: (entries, signed sign-offs,
    seconds)."""
    audit = SignatureAudit(ORIGIN)
    start = time.perf_counter()
    count = 0
    with open(path, "rb") as handle:
        while True:
            lines = handle.readlines(8 << 20)
            if not lines:
                break
            problem = audit.check_blob(b"".join(lines), count, len(lines))
            if problem:
                raise SystemExit(f"signature check failed: entry {problem[0]}: {problem[1]}")
            count += len(lines)
    return count, audit.signed, time.perf_counter() - start


def witness_checks(directory: Path, witnesses: int = 3) -> tuple[float, float, int]:
    """The witness checks of `verify --policy` alone, in-process, for a checkpoint cosigned
    by `witnesses` witnesses with a 2-of-n policy: (seconds for the cosignatures and quorum,
    seconds for bounding every entry's time by the first cosignature, entries)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from lifecycle.evidence import witness_audit
    from lifecycle.evidence.policy import parse_policy
    from lifecycle.log.note import Cosigner, note_signatures

    note = (directory / CHECKPOINT_FILE).read_text()
    body, _ = note_signatures(note)
    cosigners = [Cosigner(f"w{i}.bench/witness", Ed25519PrivateKey.generate())
                 for i in range(witnesses)]
    far_future = int(time.time()) + 100 * 365 * 86400  # every simulated entry is before it
    cosigned = note + "".join(c.cosign(body, far_future).line + "\n" for c in cosigners)
    policy = parse_policy("".join(f"witness w{i} {c.verifier.text()}\n"
                                  for i, c in enumerate(cosigners))
                          + f"group all 2 {' '.join(f'w{i}' for i in range(witnesses))}\n"
                          + "quorum all\n")
    start = time.perf_counter()
    report = witness_audit.witness_report(policy, cosigned)
    witness_audit.require_quorum(report)
    quorum_seconds = time.perf_counter() - start
    size = json.loads((directory / "MANIFEST.json").read_text())["size"]
    start = time.perf_counter()
    late = witness_audit.late_entry(directory / ENTRIES_FILE, [(size, *report.first)])
    if late:
        raise SystemExit(f"witness check failed: {late}")
    return quorum_seconds, time.perf_counter() - start, size


def signature_floor(path: Path) -> tuple[int, float]:
    """The Ed25519 checks alone, with every key loaded and every message computed beforehand
    (outside the timing): (signatures, seconds). Any verifier of member signatures pays at
    least this on top of parsing and hashing."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from lifecycle.evidence.keys import b64url_decode
    from lifecycle.evidence.statement import signed_message

    keys, work = {}, []
    with open(path, "rb") as handle:
        for line in handle:
            kind = entry_type(line.rstrip(b"\n"))
            if kind == b"key.registered":
                data = json.loads(line)["data"]
                keys[data["key_id"]] = Ed25519PublicKey.from_public_bytes(
                    b64url_decode(data["public_key"], "public_key"))
            elif kind == b"signoff.recorded":
                data = json.loads(line)["data"]
                if "proof" in data:
                    work.append((keys[data["proof"]["key_id"]],
                                 b64url_decode(data["proof"]["signature"], "signature"),
                                 signed_message(data["statement"])))
    start = time.perf_counter()
    for key, signature, message in work:
        key.verify(signature, message)
    return len(work), time.perf_counter() - start


# Runs one command and reports its own figures. A child's ru_maxrss counts the memory of the
# process it was forked from (Linux keeps the high-water mark across exec), and this benchmark
# holds hundreds of megabytes by then; this small launcher starts the command instead, so the
# peak is the command's own (and its workers').
LAUNCHER = """
import json, os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
seconds = time.perf_counter() - start
with open(sys.argv[1], "w") as out:
    json.dump([seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
               os.waitstatus_to_exitcode(status)], out)
"""


def run_cli(*args: str) -> tuple[float, float, float, int, str]:
    """(wall seconds, CPU seconds, peak memory in MB, exit status, output) of one command,
    each figure of that command alone (its process and the worker processes it waited for):
    os.wait4's rusage in a fresh launcher, not the cumulative RUSAGE_CHILDREN of this process."""
    command = [sys.executable, "-c", "from lifecycle.cli import app; app(prog_name='lifecycle')",
               *args]
    with tempfile.TemporaryFile() as output, tempfile.NamedTemporaryFile("r") as report:
        subprocess.run([sys.executable, "-c", LAUNCHER, report.name, *command], stdout=output,
                       stderr=subprocess.STDOUT, cwd=ROOT, check=True)
        seconds, cpu, peak, status = json.loads(report.read())
        output.seek(0)
        text = output.read().decode("utf-8", "replace").strip()
    return seconds, cpu, peak, status, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--million", action="store_true", help="1,000,000 entries")
    parser.add_argument("--keep", type=Path, help="write the bundle here and keep it")
    parser.add_argument("--bundle", type=Path, help="time this existing bundle instead of "
                                                      "generating one")
    parser.add_argument("--workers", type=int, help="verify/replay --workers (default: "
                                                    "automatic)")
    parser.add_argument("--skip-parts", action="store_true",
                        help="skip the in-process timings of signatures and witnesses")
    options = parser.parse_args()
    size = 1_000_000 if options.million else options.entries
    directory = options.bundle or options.keep or Path(tempfile.mkdtemp(prefix="bench-bundle-"))
    try:
        if options.bundle is None:
            seconds = generate(directory, size)
        else:
            seconds = 0.0
            size = json.loads((directory / "MANIFEST.json").read_text())["size"]
        megabytes = (directory / ENTRIES_FILE).stat().st_size / 1e6
        print(f"bundle: {size:,} entries, {megabytes:,.0f} MB, generated in {seconds:.1f} s; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")

        cpu = time.process_time()
        count, seconds = baseline(directory / ENTRIES_FILE)
        base_rate = count / seconds
        print(f"baseline (json.loads + sha256 per line, in-process): {seconds:6.2f} s "
              f"{base_rate:10,.0f} entries/s  (CPU {time.process_time() - cpu:.1f} s)")
        signatures, sig_seconds = signature_floor(directory / ENTRIES_FILE)
        floor_rate = count / (seconds + sig_seconds)
        print(f"floor    (baseline + one Ed25519 check per signed sign-off, keys loaded, "
              f"messages precomputed): {signatures:,} signatures, "
              f"{sig_seconds / max(signatures, 1) * 1e6:.0f} µs each; "
              f"{floor_rate:,.0f} entries/s on one core ({floor_rate / base_rate:.2f}× baseline)")

        key = str(directory / VKEY_FILE)
        extra = ["--workers", str(options.workers)] if options.workers else []
        results = {}
        for name in ("verify", "replay"):
            load = os.getloadavg()[0]
            seconds, cpu, peak, status, output = run_cli("audit", name, str(directory), "--key",
                                                         key, *extra)
            rate = size / seconds
            results[name] = (rate, peak, status)
            print(f"{name:7} (lifecycle audit {name}):{' ' * (21 - len(name))}{seconds:6.2f} s "
                  f"{rate:10,.0f} entries/s  {rate / base_rate:.2f}× baseline, "
                  f"{rate / floor_rate:.2f}× floor  (CPU {cpu:.1f} s, load average {load:.1f}), "
                  f"peak memory {peak:.0f} MB\n"
                  f"        exit {status}: {output.splitlines()[-1] if output else ''}")

        if not options.skip_parts:
            count, signed, seconds = signature_checks(directory / ENTRIES_FILE)
            print(f"member signatures (of verify, in-process):           {seconds:6.2f} s "
                  f"{signed:,} signed sign-offs: {seconds / count * 1e6:.1f} µs per entry, "
                  f"{seconds / max(signed, 1) * 1e6:.0f} µs per signature")
            quorum, bounds, count = witness_checks(directory)
            print(f"witness cosignatures (of verify --policy, in-process): 3 cosignatures and "
                  f"the quorum {quorum * 1e6:.0f} µs; entry times bounded by them "
                  f"{bounds:.2f} s, {bounds / count * 1e6:.1f} µs per entry")

        (verify_rate, verify_peak, verify_status) = results["verify"]
        (replay_rate, replay_peak, replay_status) = results["replay"]
        checks = [("verify and replay exit 0 (the simulated history is legal)",
                   verify_status == 0 and replay_status == 0),
                  ("verify >= 0.9 x baseline", verify_rate >= 0.9 * base_rate),
                  ("replay >= 0.5 x baseline", replay_rate >= 0.5 * base_rate)]
        if size >= 1_000_000:
            checks += [("verify peak memory < 150 MB", verify_peak < 150),
                       ("replay peak memory < 300 MB", replay_peak < 300)]
        for name, ok in checks:
            print(f"  {'met ' if ok else 'MISSED'}  {name}")
    finally:
        if options.keep is None and options.bundle is None:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
