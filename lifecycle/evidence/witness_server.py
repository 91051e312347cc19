"""The witness's HTTP interface: `POST <prefix>/add-checkpoint` (c2sp.org/tlog-witness).

A small FastAPI app around WitnessStore. The handler is a plain function, so it runs in the
thread pool and may wait on SQLite's write lock without holding up the event loop; the answer
(status, body, media type) is exactly the store's.
"""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response

from lifecycle.evidence.witness import MAX_BODY, Answer, WitnessStore


def create_witness_app(data_dir: Path | str, *, prefix: str = "",
                       name: str | None = None) -> FastAPI:
    store = WitnessStore(data_dir, name)
    app = FastAPI(title="lifecycle witness", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = store
    prefix = prefix.rstrip("/")

    @app.post(f"{prefix}/add-checkpoint")
    async def add_checkpoint(request: Request) -> Response:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return _respond(Answer(400, f"malformed request: body larger than {MAX_BODY} "
                                            "bytes\n"))
        from starlette.concurrency import run_in_threadpool

        answer = await run_in_threadpool(store.submit, bytes(body), int(time.time()))
        return _respond(answer)

    @app.get(f"{prefix}/")
    def describe() -> PlainTextResponse:
        """The witness's verifier key and the logs it trusts, one per line."""
        lines = [f"witness {store.vkey}"] + [f"log {log.text()}" for log in store.logs()]
        return PlainTextResponse("\n".join(lines) + "\n")

    return app


def _respond(answer: Answer) -> Response:
    # The media type is set as a header so that it stays exactly "text/x.tlog.size" (the
    # framework would append a charset to a text/* media type).
    return Response(answer.body.encode("utf-8"), status_code=answer.status,
                    headers={"content-type": answer.media_type})
