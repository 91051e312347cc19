"""Witness policies in the C2SP tlog-policy format: parsing, and the quorum rule."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lifecycle.evidence.policy import PolicyError, parse_policy
from lifecycle.log.note import Cosigner, Signer


def witness_vkey(name: str) -> str:
    return Cosigner(name, Ed25519PrivateKey.generate()).verifier.text()


LOG = Signer("lifecycle.test/log", Ed25519PrivateKey.generate()).verifier.text()
X = [witness_vkey(f"x{i}.test/w") for i in range(3)]
Y = [witness_vkey(f"y{i}.test/w") for i in range(3)]

TWO_LEVELS = f"""# the specification's example, with real keys
log {LOG}

witness X1 {X[0]} http://127.0.0.1:7001
witness X2 {X[1]}
witness X3 {X[2]}
group X-witnesses 2 X1 X2 X3

  witness Y1 {Y[0]}
witness\tY2 {Y[1]}
witness Y3 {Y[2]}
group Y-witnesses any Y1 Y2 Y3

group X-and-Y all X-witnesses Y-witnesses
quorum X-and-Y
"""


def test_the_two_level_example_parses_and_its_quorum_holds_as_written():
    policy = parse_policy(TWO_LEVELS)
    assert [w.name for w in policy.witnesses] == ["X1", "X2", "X3", "Y1", "Y2", "Y3"]
    assert policy.witness("X1").url == "http://127.0.0.1:7001"
    assert policy.witness("X2").url is None
    assert policy.logs[0].text() == LOG
    assert policy.satisfied({"X1", "X3", "Y2"})
    assert not policy.satisfied({"X1", "Y1", "Y2", "Y3"})  # one X is not two
    assert not policy.satisfied({"X1", "X2", "X3"})  # no Y at all
    assert not policy.satisfied(set())


def test_quorum_none_and_a_single_witness():
    assert parse_policy("quorum none\n").satisfied(set())
    single = parse_policy(f"witness W {X[0]}\nquorum W\n")
    assert single.satisfied({"W"}) and not single.satisfied(set())


@pytest.mark.parametrize("text, reason", [
    ("", "no quorum"),
    ("quorum none\nquorum none\n", "exactly one quorum"),
    (f"witness W {X[0]}\nquorum V\n", "defined earlier"),
    (f"quorum W\nwitness W {X[0]}\n", "defined earlier"),
    (f"witness W {X[0]}\nwitness W {X[1]}\nquorum W\n", "taken"),
    (f"witness A {X[0]}\nwitness B {X[0]}\nquorum A\n", "duplicate key"),
    (f"witness A {X[0]}\ngroup G 2 A\nquorum G\n", "threshold"),
    (f"witness A {X[0]}\ngroup G 0 A\nquorum G\n", "threshold"),
    (f"witness A {X[0]}\ngroup G any A A\nquorum G\n", "listed twice"),
    (f"witness A {X[0]}\ngroup G any none\nquorum G\n", "not a witness or group"),
    (f"witness A {LOG}\nquorum A\n", "cosignature/v1 key"),  # a log key is not a witness key
    (f"log {X[0]}\nquorum none\n", "Ed25519 key"),
    (f"witness A {X[0]}\x0b\nquorum A\n", "control characters"),
    ("quorum none\nwitnesses A\n", "unknown keyword"),
])
def test_malformed_policies_are_refused_naming_the_problem(text, reason):
    with pytest.raises(PolicyError, match=reason):
        parse_policy(text)
