"""Engine throughput and log proof cost, beside baselines and a peer measured in the same run.

    python bench/engine.py [--lifecycles 40] [--rounds 3] [--log-size 1000000]
    (the peer needs the optional extra: pip install -e '.[bench]')

1. Full lifecycles (design → closure) in-process on a SQLite file, every command its own
   transaction, in interleaved rounds against
   - pyeventsourcing/eventsourcing running the same commands get → decide → save on its SQLite
     recorder (bench/peer_eventsourcing.py), and the same with its aggregates held in memory
     (save only, one event per transaction);
   - raw sqlite3 doing one single-row INSERT per transaction.
   All three with WAL and synchronous=FULL: one fsync per commit, as lifecycle runs.
   The ratio that counts is commands/s against eventsourcing get-decide-save, round by round.
2. A log of --log-size entries: the root and an inclusion proof from stored Merkle nodes,
   against a single primary-key read of one node. The big log is written straight into the
   tables (synthetic entries, real tree) because building it through the service would take
   far longer than the reads it is there to measure.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lifecycle import ledger  # noqa: E402
from lifecycle.bootstrap import init, open_lifecycle  # noqa: E402
from lifecycle.log import merkle  # noqa: E402
from lifecycle.service import Actor  # noqa: E402

import peer_eventsourcing  # noqa: E402  (bench/, beside this script)

STEPS = [
    ("approve_design", ("feasibilityStudy",), None),
    ("publish_tender", ("technicalSpecifications", "budgetApproval"), None),
    ("award", ("evaluationReports",), {"supplier": {"name": "Constructora Andina S.A.C.",
                                                    "tax_id": "20100070970"},
                                       "amount": "950000.00", "bidders": 3}),
    ("sign_contract", ("contractSigned",), None),
    ("close", ("completionCertificate",), None),
]
SECTORS = [("Mesa de Concertación", "civil_society"), ("Cámara de Comercio", "private_sector"),
           ("Colegio de Ingenieros", "professional_association")]


class SimulatedClock:
    def __init__(self):
        self.now = datetime(2025, 1, 6, 9, tzinfo=timezone.utc)

    def __call__(self):
        self.now += timedelta(seconds=1)
        return self.now


def engine_rates(folder: Path, lifecycles: int) -> tuple[float, float, int]:
    """Events/s and commands/s of `lifecycles` full lifecycles; and the events written."""
    clock = SimulatedClock()
    lc = open_lifecycle(folder / "engine", clock=clock)
    admin = lc.authenticate_token(init(lc))
    network = lc.create_network(actor=admin, name="Red de Integridad", regions=["Lambayeque"])
    entity = lc.create_organization(actor=admin, name="Gobierno Regional", kind="public_entity",
                                    sector="government", tax_id="20479569861",
                                    region="Lambayeque")
    info, _ = lc.create_user(actor=admin, username="oficial", role="official",
                             organization_id=entity.id)
    official = Actor(info.id, info.username, info.role, info.entity, info.organization_id)
    members = []
    for i, (organization, sector) in enumerate(SECTORS):
        org = lc.create_organization(actor=admin, name=organization, kind="association",
                                     sector=sector)
        user, _ = lc.create_user(actor=admin, username=f"miembro{i}", role="member")
        lc.add_member(actor=admin, network_id=network.id, user_id=user.id,
                      organization_id=org.id)
        members.append(Actor(user.id, user.username, "member", None))
    start_size = lc.log_size()
    commands = 0
    started = time.perf_counter()
    for n in range(lifecycles):
        commands += 1 + sum(len(documents) + 2 + len(members) + (trigger == "award")
                            for trigger, documents, _ in STEPS)
        work = lc.register_work(actor=official, code=f"OBRA-{n:05d}", title=f"Obra {n}",
                                region="Lambayeque", reference_amount="1000000.00")
        for trigger, documents, award in STEPS:
            for kind in documents:
                lc.attach_document(actor=official, work_id=work.id, kind=kind, title=kind,
                                   filename=f"{kind}.pdf", content=f"{n} {kind}".encode())
            if trigger == "award":
                clock.now += timedelta(days=16)
                lc.record_milestone(actor=official, work_id=work.id, code="bases_integrated",
                                    date=clock.now.date().isoformat())
            if trigger == "sign_contract":
                clock.now += timedelta(days=12)  # the appeal window of five business days
            proposal = lc.open_proposal(actor=official, work_id=work.id, trigger=trigger,
                                        justification="ready", award=award)
            for member in members:
                lc.record_signoff(actor=member, work_id=work.id, proposal_id=proposal.id,
                                  decision="approve")
            assert lc.apply_proposal(actor=official, work_id=work.id,
                                     proposal_id=proposal.id).applied
    elapsed = time.perf_counter() - started
    events = lc.log_size() - start_size
    lc.engine.dispose()
    return events / elapsed, commands / elapsed, events


def raw_sqlite_inserts_per_second(folder: Path, count: int) -> float:
    conn = sqlite3.connect(folder / "baseline.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # as lifecycle's and the peer's: a sync per commit
    conn.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, body BLOB NOT NULL)")
    body = b'{"type":"signoff.recorded","data":{"work_id":1,"decision":"approve"}}'
    started = time.perf_counter()
    for seq in range(count):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO events VALUES (?, ?)", (seq, body))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return count / elapsed


def build_big_log(folder: Path, size: int):
    """Write `size` synthetic entries and their complete Merkle tree straight into SQLite."""
    lc = open_lifecycle(folder / "big")
    db_path = folder / "big" / "lifecycle.db"
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    frontier: list[bytes] = []
    batch_entries, batch_nodes = [], []
    prev = "0" * 64
    for seq in range(size):
        raw = (b'{"actor":{"id":"system","role":"system"},"at":"2026-01-01T00:00:00.000000Z",'
               b'"data":{"n":%d},"prev":"%s","seq":%d,"type":"bench.synthetic","v":1}'
               % (seq, prev.encode(), seq))
        leaf = merkle.leaf_hash(raw)
        frontier, nodes = merkle.nodes_to_store_on_append(frontier, seq, leaf)
        batch_entries.append((seq, raw, leaf, "bench.synthetic", None, "2026-01-01"))
        batch_nodes.extend(nodes)
        prev = leaf.hex()
        if len(batch_entries) >= 50_000:
            _flush(conn, batch_entries, batch_nodes)
    _flush(conn, batch_entries, batch_nodes)
    conn.execute("DELETE FROM log_head")
    conn.execute("INSERT INTO log_head (id, size, head, frontier) VALUES (1, ?, ?, ?)",
                 (size, prev, ",".join(h.hex() for h in frontier)))
    conn.execute("COMMIT")
    conn.close()
    return lc, merkle.root_from_frontier(frontier)


def _flush(conn, entries, nodes):
    conn.executemany("INSERT INTO log_entries (seq, entry, leaf_hash, type, work_id, at) "
                     "VALUES (?, ?, ?, ?, ?, ?)", entries)
    conn.executemany("INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)", nodes)
    entries.clear()
    nodes.clear()


def timed_ms(fn, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lifecycles", type=int, default=40)
    parser.add_argument("--log-size", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="lifecycle-bench-"))

    # Interleaved rounds, so that a burst of load from elsewhere hits every contender alike.
    figures: dict[str, list[float]] = {"events": [], "commands": [], "peer": [], "held": [],
                                       "raw": []}
    for round_ in range(args.rounds):
        events_rate, commands_rate, events = engine_rates(folder / f"r{round_}", args.lifecycles)
        figures["events"].append(events_rate)
        figures["commands"].append(commands_rate)
        if peer_eventsourcing.available():
            figures["peer"].append(peer_eventsourcing.commands_per_second(
                folder / f"r{round_}", args.lifecycles, STEPS, members=len(SECTORS))[0])
            figures["held"].append(peer_eventsourcing.commands_per_second(
                folder / f"r{round_}", args.lifecycles, STEPS, members=len(SECTORS),
                in_memory=True)[0])
        figures["raw"].append(raw_sqlite_inserts_per_second(folder / f"r{round_}", events))
    median = {name: statistics.median(values) for name, values in figures.items() if values}
    print(f"engine: {args.lifecycles} full lifecycles per round, {args.rounds} rounds (SQLite, "
          f"one transaction per command; medians, range in brackets)")

    def line(label, name, unit):
        values = figures[name]
        print(f"  {label:<28}{median[name]:9.0f} {unit:<11}[{min(values):.0f}–{max(values):.0f}]")

    line("lifecycle", "commands", "commands/s")
    line("lifecycle", "events", "events/s")
    if "peer" in median:
        line("eventsourcing get-decide-save", "peer", "commands/s")
        ratios = [c / p for c, p in zip(figures["commands"], figures["peer"])]
        print(f"  ratio to it                 {statistics.median(ratios):9.2f}x  "
              f"[{min(ratios):.2f}–{max(ratios):.2f}]   target: >= 1.5x")
        line("eventsourcing save only", "held", "commands/s")
        ratios = [c / p for c, p in zip(figures["commands"], figures["held"])]
        print(f"  ratio to it                 {statistics.median(ratios):9.2f}x  "
              f"[{min(ratios):.2f}–{max(ratios):.2f}]   (aggregates kept in memory)")
    else:
        print("  eventsourcing: not installed (pip install -e '.[bench]') — no peer ratio")
    line("raw sqlite3 (1 INSERT/tx)", "raw", "inserts/s")
    print(f"  ratio events/raw            {median['events'] / median['raw']:9.3f}")

    started = time.perf_counter()
    lc, expected_root = build_big_log(folder, args.log_size)
    print(f"\nlog of {args.log_size:,} entries built in {time.perf_counter() - started:.0f} s")
    size = args.log_size
    with lc.engine.connect() as conn:
        store = ledger.DbNodeStore(conn)
        assert merkle.root(store, size) == expected_root
        root_ms = timed_ms(lambda: merkle.root(store, size), 200)
        one_read_ms = timed_ms(lambda: store.get_node(0, size // 3), 200)
    proof = ledger.inclusion(lc, index=size // 3, size=size)
    assert merkle.verify_inclusion(bytes.fromhex(proof["leaf_hash"]), size // 3, size,
                                   [bytes.fromhex(h) for h in proof["path"]], expected_root)
    index = [0]

    def one_proof():
        index[0] = (index[0] + 7919) % size
        ledger.inclusion(lc, index=index[0], size=size)

    proof_ms = timed_ms(one_proof, 200)
    print(f"  root from stored nodes      p50 {root_ms[0]:6.2f} ms   p99 {root_ms[1]:6.2f} ms"
          "   target: < 10 ms")
    print(f"  inclusion proof (API call)  p50 {proof_ms[0]:6.2f} ms   p99 {proof_ms[1]:6.2f} ms"
          "   target: < 10 ms")
    print(f"  baseline: one node read     p50 {one_read_ms[0]:6.2f} ms   "
          f"ratio root/read {root_ms[0] / one_read_ms[0]:.1f}x, "
          f"proof/read {proof_ms[0] / one_read_ms[0]:.1f}x")


if __name__ == "__main__":
    main()
