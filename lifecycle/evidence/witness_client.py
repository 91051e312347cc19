"""The log's side of c2sp.org/tlog-witness: submit a checkpoint to one witness.

Like Tessera's witness client, each witness's latest size is cached (starting from the largest
size it cosigned for us, as the database knows it, else 0); the consistency proof is made from
that size; a 409 with `text/x.tlog.size` teaches the witness's real size, which is adopted and
the submission retried once at once. Every request has a short timeout (1 s), so a witness that
is down only ever delays its own cosignature. The answer's lines are verified with the
witness's key before anything is kept.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from lifecycle.evidence.policy import Witness
from lifecycle.evidence.witness import SIZE_MEDIA_TYPE
from lifecycle.log.note import Cosignature, NoteError

DEFAULT_TIMEOUT = 1.0
ProofFn = Callable[[int, int], Sequence[bytes]]


class WitnessFailed(Exception):
    """The witness did not cosign; the message says why, for the worker's log."""


class WitnessAhead(WitnessFailed):
    """The witness has cosigned a larger tree than this log has: the log was rolled back
    (a restored database), or someone else holds the log key."""


@dataclass(frozen=True)
class SubmitResult:
    cosignature: Cosignature
    attempts: int


class WitnessClient:
    def __init__(self, witness: Witness, *, timeout: float = DEFAULT_TIMEOUT,
                 known_size: int | None = None, http: httpx.Client | None = None):
        if not witness.url:
            raise ValueError(f"witness {witness.name} has no URL in the policy")
        self.witness = witness
        self.url = witness.url.rstrip("/") + "/add-checkpoint"
        self.known_size = known_size
        self.http = http or httpx.Client(timeout=httpx.Timeout(timeout))

    def close(self) -> None:
        self.http.close()

    def submit(self, note: str, size: int, proof_fn: ProofFn) -> SubmitResult:
        """Cosign `note` (the log's signed checkpoint at `size`) or raise WitnessFailed."""
        old = self.known_size or 0
        for attempt in (1, 2):
            if old > size:
                raise WitnessAhead(f"witness {self.witness.name} has cosigned size {old}, "
                                   f"larger than this checkpoint's {size}")
            proof = list(proof_fn(old, size)) if 0 < old < size else []
            body = "".join([f"old {old}\n", *(base64.b64encode(h).decode("ascii") + "\n"
                                              for h in proof), "\n", note])
            try:
                response = self.http.post(self.url, content=body.encode("utf-8"),
                                          headers={"content-type": "text/plain"})
            except httpx.HTTPError as exc:
                raise WitnessFailed(f"witness {self.witness.name} unreachable: "
                                    f"{type(exc).__name__}") from exc
            if response.status_code == 200:
                cosignature = self._verified(note, response.text)
                self.known_size = size
                return SubmitResult(cosignature, attempt)
            if response.status_code == 409 and response.headers.get(
                    "content-type", "").split(";")[0].strip() == SIZE_MEDIA_TYPE:
                try:
                    old = int(response.text.strip())
                except ValueError:
                    raise WitnessFailed(f"witness {self.witness.name}: 409 with a bad size "
                                        "body") from None
                self.known_size = old
                continue
            raise WitnessFailed(f"witness {self.witness.name} answered "
                                f"{response.status_code}: {response.text.strip()[:200]}")
        raise WitnessFailed(f"witness {self.witness.name} kept answering 409")

    def _verified(self, note: str, answer: str) -> Cosignature:
        if not answer.endswith("\n") or not all(
                line.startswith("\u2014 ") for line in answer.splitlines()):
            raise WitnessFailed(f"witness {self.witness.name}: the answer is not signature "
                                "lines")
        try:
            cosignature = self.witness.verifier.find(note + answer)
        except NoteError as exc:
            raise WitnessFailed(f"witness {self.witness.name}: {exc}") from None
        if cosignature is None:
            raise WitnessFailed(f"witness {self.witness.name}: no cosignature by its key in "
                                "the answer")
        return cosignature
