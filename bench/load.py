"""Load benchmark of the HTTP API (not a test).

Builds a demo-like dataset on SQLite in a temporary data folder (or, with --database-url, in
PostgreSQL), starts `lifecycle serve [--workers N]` on a free loopback port as a subprocess, and
drives it with an asyncio/httpx load generator:

- baseline: GET /api/v1/ping, a constant answer through the same app, middleware and auth
  dependency — what the framework costs with no engine work;
- reads: GET /api/v1/works/{id} (work detail with proposal tally and a guard dry run);
- writes: POST /api/v1/works/{id}/proposals/{p}/signoffs (one logged, Merkle-appended write).

Prints requests/s, p50 and p99 latency for each, and their ratios to the baseline.

    python bench/load.py [--client wrk|httpx] [--seconds 5] [--requests 2000] [--writes 500]
                         [--concurrency 16] [--rounds 5]
                         [--database-url postgresql+psycopg://…/bench --workers 1,2]

With several worker counts (`--workers 1,2`) each gets its own server, one after the other, on
the same dataset (and its own works to sign off), so the rows show how reads and writes scale
with worker processes. The PostgreSQL database's tables are dropped first: give it a database of
its own.

The load generator shares the machine's two cores with the server, so it must be cheap: with
`wrk` (Debian's package, C) the figures are the server's; the pure-Python httpx client costs
about as much CPU per request as the server does and so measures itself as much as the app.
`--client` defaults to wrk when it is installed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from itertools import cycle
from pathlib import Path

import httpx

from lifecycle.bootstrap import init, open_lifecycle
from lifecycle.service import Lifecycle

# A member organization of each sector (the government sector is the public entity itself).
MEMBER_KINDS = {"civil_society": "association", "private_sector": "association",
                "professional_association": "association", "academia": "university"}
SECTORS = list(MEMBER_KINDS)
ENTITY = "Gobierno Regional de Lambayeque"
ENTITY_RUC = "20479569861"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_dataset(lc: Lifecycle, works: int, members: int) -> dict:
    """A network with members of every sector and `works` works, each with a feasibility study
    and an open approve_design proposal. Returns the ids and tokens the load needs."""
    admin = lc.authenticate_token(init(lc))
    network = lc.create_network(actor=admin, name="Red de Integridad Lambayeque",
                                regions=["Lambayeque"])
    entity = lc.create_organization(actor=admin, name=ENTITY, kind="public_entity",
                                    sector="government", tax_id=ENTITY_RUC, region="Lambayeque")
    _, official_token = lc.create_user(actor=admin, username="oficial", role="official",
                                       organization_id=entity.id)
    official = lc.authenticate_token(official_token)
    member_tokens = []
    for i in range(members):
        sector = SECTORS[i % len(SECTORS)]
        organization = lc.create_organization(actor=admin, name=f"Organización {i}",
                                              kind=MEMBER_KINDS[sector], sector=sector)
        info, token = lc.create_user(actor=admin, username=f"miembro{i:03}", role="member")
        lc.add_member(actor=admin, network_id=network.id, user_id=info.id,
                      organization_id=organization.id)
        member_tokens.append(token)
    targets = []
    for i in range(works):
        work = lc.register_work(actor=official, code=f"LAM-2026-{i:04}",
                                title=f"Obra pública {i}", region="Lambayeque",
                                network_id=network.id, reference_amount="1500000.00")
        lc.attach_document(actor=official, work_id=work.id, kind="feasibilityStudy",
                           title="Estudio de factibilidad", filename="estudio.pdf",
                           content=f"estudio {i}".encode(), media_type="application/pdf")
        proposal = lc.open_proposal(actor=official, work_id=work.id, trigger="approve_design",
                                    justification="Diseño listo")
        targets.append((work.id, proposal.id))
    return {"targets": targets, "member_tokens": member_tokens}


def start_server(data_dir: Path, port: int, url: str | None = None,
                 workers: int = 1) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "LIFECYCLE_DATABASE_URL"}
    if url:
        env["LIFECYCLE_DATABASE_URL"] = url
    command = [sys.executable, "-c", "from lifecycle.cli import app; app()", "serve",
               "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port),
               "--no-access-log", "--workers", str(workers)]
    log = open(data_dir.parent / "serve.log", "wb")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("lifecycle serve exited: "
                             + (data_dir.parent / "serve.log").read_text(errors="replace"))
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/ping", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("lifecycle serve did not answer within 60 s")


async def run_load(base_url: str, requests: list[tuple[str, str, dict]], concurrency: int,
                   expect: int) -> tuple[float, list[float]]:
    """Send the requests with `concurrency` clients in flight; return (wall seconds,
    latencies in seconds). Every answer must have the status `expect`."""
    queue: asyncio.Queue = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    latencies: list[float] = []
    failures: list[str] = []

    async def worker(client: httpx.AsyncClient):
        while not queue.empty():
            method, path, kwargs = queue.get_nowait()
            started = time.perf_counter()
            try:
                response = await client.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                failures.append(f"{method} {path}: {exc!r}")
                continue
            latencies.append(time.perf_counter() - started)
            if response.status_code != expect:
                failures.append(f"{method} {path}: {response.status_code} {response.text[:200]}")

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        wall = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} unexpected answers, e.g. {failures[0]}")
    return wall, latencies


WRK_SCRIPT = """
local requests = %(requests)s
local i = 0
request = function()
  i = i %% #requests + 1
  local r = requests[i]
  return wrk.format(r.method, r.path, r.headers, r.body)
end
"""
_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def lua_requests(requests: list[tuple[str, str, dict]]) -> str:
    """The requests as a Lua table literal (JSON strings are valid Lua strings here)."""
    rows = []
    for method, path, kwargs in requests:
        headers = dict(kwargs.get("headers", {}))
        body = "nil"
        if "json" in kwargs:
            headers["Content-Type"] = "application/json"
            body = json.dumps(json.dumps(kwargs["json"]))
        header_items = ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}"
                                 for k, v in headers.items())
        rows.append(f"{{method = {json.dumps(method)}, path = {json.dumps(path)}, "
                    f"headers = {{{header_items}}}, body = {body}}}")
    return "{" + ",\n".join(rows) + "}"


def run_wrk(base_url: str, requests: list[tuple[str, str, dict]], seconds: int,
            concurrency: int, folder: Path) -> dict:
    """Drive the server with wrk for `seconds`; returns rate and p50/p99 in ms."""
    script = folder / "load.lua"
    script.write_text(WRK_SCRIPT % {"requests": lua_requests(requests)})
    done = subprocess.run(
        ["wrk", "--latency", "-t", "2", "-c", str(concurrency), "-d", f"{seconds}s",
         "-s", str(script), base_url], capture_output=True, text=True, check=True)
    out = done.stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors or "Socket errors" in out:
        raise SystemExit(f"wrk saw failed requests:\n{out}")
    latency = {pct: float(value) * _UNIT[unit] for pct, value, unit in
               re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)}
    count = int(re.search(r"(\d+) requests in", out).group(1))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return {"requests": count, "rate": rate, "p50": latency["50"], "p99": latency["99"],
            "load": os.getloadavg()[0]}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def setting(args, workers: int) -> str:
    backend = "PostgreSQL" if args.database_url else "SQLite"
    return f"{backend}, {workers} uvicorn worker{'s' if workers > 1 else ''}"


def report_wrk(rows: dict[str, list[dict]], args, workers: int) -> None:
    """Per scenario: requests summed over rounds, the rate over the whole time, and the
    median over rounds of each round's p50 and p99."""
    print(f"lifecycle API load (wrk, {args.concurrency} connections, {args.rounds} rounds × "
          f"{args.seconds:g} s) — {setting(args, workers)}, {args.works} works, "
          f"{args.members} members")
    header = f"{'scenario':<22}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}" \
             f"{'req/s vs base':>15}{'p99 vs base':>13}"
    print(header)
    print("-" * len(header))
    base = None
    for name, runs in rows.items():
        count = sum(r["requests"] for r in runs)
        rate = sum(r["rate"] for r in runs) / len(runs)
        p50 = sorted(r["p50"] for r in runs)[len(runs) // 2]
        p99 = sorted(r["p99"] for r in runs)[len(runs) // 2]
        base = base or (rate, p99)
        print(f"{name:<22}{count:>9}{rate:>9.0f}{p50:>9.1f}{p99:>9.1f}"
              f"{rate / base[0]:>15.2f}{p99 / base[1]:>13.1f}")
    loads = [r["load"] for runs in rows.values() for r in runs]
    # The machine's other work weighs on every figure: say how loaded it was.
    print(f"load average (1 min) after each round: {min(loads):.2f}–{max(loads):.2f} "
          f"({os.cpu_count()} cores)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="reads, and baseline pings")
    parser.add_argument("--writes", type=int, default=500, help="sign-off writes")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--works", type=int, default=None,
                        help="the first 50 are read, the others signed off (default: 50 plus "
                             "--writes per worker count)")
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--client", choices=["wrk", "httpx"],
                        default="wrk" if shutil.which("wrk") else "httpx")
    parser.add_argument("--seconds", type=int, default=5, help="per scenario and round "
                                                                   "(wrk)")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL instead of SQLite (its tables are dropped first)")
    parser.add_argument("--workers", default="1",
                        help="uvicorn worker processes; a list (1,2) runs one server after "
                             "the other")
    args = parser.parse_args()
    worker_counts = [int(n) for n in args.workers.split(",")]
    if args.works is None:
        args.works = 50 + args.writes * len(worker_counts)

    with tempfile.TemporaryDirectory(prefix="lifecycle-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        if args.database_url:
            reset_database(args.database_url)
        lc = open_lifecycle(data_dir, url=args.database_url or
                            f"sqlite:///{data_dir / 'lifecycle.db'}")
        dataset = build_dataset(lc, args.works, args.members)
        lc.engine.dispose()
        write_targets = dataset["targets"][50:]
        share = max(1, len(write_targets) // len(worker_counts))
        for run, workers in enumerate(worker_counts):
            dataset["write_targets"] = write_targets[run * share:(run + 1) * share]
            run_server(args, Path(tmp), data_dir, dataset, workers)


def reset_database(url: str) -> None:
    from sqlalchemy import text
    from sqlmodel import SQLModel

    from lifecycle.db import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        SQLModel.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


def run_server(args, tmp: Path, data_dir: Path, dataset: dict, workers: int) -> None:
    """One server with `workers` processes: every scenario, and its report."""
    port = free_port()
    server = start_server(data_dir, port, args.database_url, workers)
    try:
        base_url = f"http://127.0.0.1:{port}"
        # Reads and writes touch different works: a proposal gathers a handful of
        # sign-offs in real life, not thousands, and the read set should not grow heavier
        # round after round because the write scenario keeps signing the same proposals.
        read_targets = dataset["targets"][:50]
        targets = dataset["write_targets"] or read_targets
        pings = [("GET", "/api/v1/ping", {})] * args.requests
        reads = [("GET", f"/api/v1/works/{work_id}", {})
                 for (work_id, _), _i in zip(cycle(read_targets), range(args.requests))]
        # Every member on every write target once before any pair comes round again: a member
        # may sign one proposal at most 20 times (issue #14), and a longer run must not meet
        # that bound (wrk stops the run at the first refusal).
        tokens = dataset["member_tokens"]
        writes = [("POST", f"/api/v1/works/{work_id}/proposals/{proposal_id}/signoffs",
                   {"json": {"decision": "approve"},
                    "headers": {"Authorization": f"Bearer {token}"}})
                  for token in tokens for work_id, proposal_id in targets]
        asyncio.run(run_load(base_url, pings[:100], args.concurrency, 200))  # warm-up
        scenarios = {"baseline GET /ping": (pings, 200), "GET /works/{id}": (reads, 200),
                     "POST …/signoffs": (writes, 201)}
        if args.client == "wrk":
            rows = {name: [] for name in scenarios}
            for _round in range(args.rounds):
                for name, (requests, _status) in scenarios.items():
                    chosen = requests if requests is writes else requests[:1000]
                    rows[name].append(run_wrk(base_url, chosen, args.seconds,
                                              args.concurrency, tmp))
            report_wrk(rows, args, workers)
            return
        # Interleave the scenarios in rounds, so that a change in the machine's load
        # during the run weighs on the baseline as much as on the endpoints it is beside.
        results = {name: (0.0, []) for name in scenarios}
        for round_ in range(args.rounds):
            for name, (requests, status) in scenarios.items():
                share = requests[round_::args.rounds]
                wall, latencies = asyncio.run(run_load(base_url, share, args.concurrency,
                                                       status))
                results[name] = (results[name][0] + wall, results[name][1] + latencies)
    except SystemExit:
        print((tmp / "serve.log").read_text(errors="replace")[-3000:], file=sys.stderr)
        raise
    finally:
        server.terminate()
        server.wait(timeout=30)

    print(f"lifecycle API load — {setting(args, workers)}, {args.concurrency} concurrent "
          f"clients, {args.works} works, {args.members} members")
    header = f"{'scenario':<22}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}" \
             f"{'req/s vs base':>15}{'p50 vs base':>13}"
    print(header)
    print("-" * len(header))
    base_rate = base_p50 = None
    for name, (wall, latencies) in results.items():
        rate = len(latencies) / wall
        p50, p99 = percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000
        if base_rate is None:
            base_rate, base_p50 = rate, p50
        print(f"{name:<22}{len(latencies):>9}{rate:>9.0f}{p50:>9.1f}{p99:>9.1f}"
              f"{rate / base_rate:>15.2f}{p50 / base_p50:>13.1f}")


if __name__ == "__main__":
    main()
