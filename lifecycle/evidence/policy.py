"""Witness policies in the C2SP tlog-policy format (c2sp.org/tlog-policy).

A policy names the log(s), the witnesses (a name, a cosignature/v1 verifier key and, for the
publisher, the witness's submission URL), groups of witnesses with a threshold, and the quorum:
the one witness or group whose "witnessing" makes a checkpoint valid. For example:

    log lifecycle.example/log+1234abcd+AX…
    witness camara camara.example/witness+…+BP… http://127.0.0.1:7001
    witness colegio colegio.example/witness+…+BP… http://127.0.0.1:7002
    witness universidad uni.example/witness+…+BP… http://127.0.0.1:7003
    group redes 2 camara colegio universidad
    quorum redes

Parsing and the quorum rule are pure: `satisfied(signed)` takes the set of witness names whose
cosignatures verified.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from lifecycle.log.note import (
    CosignerVerifier,
    NoteError,
    Verifier,
    parse_cosigner_vkey,
    parse_vkey,
)

POLICY_FILE = "witnesses.policy"
POLICY_ENV = "LIFECYCLE_WITNESS_POLICY"
NONE = "none"
MAX_ENTRIES = 32  # per kind: the specification's recommended minimum to support
_WHITESPACE = re.compile(r"[ \t]+")


class PolicyError(ValueError):
    """The policy file is malformed; the message names the line."""


@dataclass(frozen=True)
class Witness:
    name: str
    verifier: CosignerVerifier
    url: str | None = None

    @property
    def vkey(self) -> str:
        return self.verifier.text()


@dataclass(frozen=True)
class Group:
    name: str
    threshold: int
    members: tuple[str, ...]


@dataclass(frozen=True)
class Policy:
    logs: tuple[Verifier, ...] = ()
    witnesses: tuple[Witness, ...] = ()
    groups: tuple[Group, ...] = ()
    quorum: str = NONE
    text: str = field(default="", compare=False)

    def witness(self, name: str) -> Witness | None:
        return next((w for w in self.witnesses if w.name == name), None)

    def satisfied(self, signed: set[str] | frozenset[str]) -> bool:
        """Rule: the checkpoint is witnessed when the quorum witness cosigned it, or the
        quorum group has at least its threshold of members witnessing (recursively)."""
        return self._witnessed(self.quorum, frozenset(signed))

    def _witnessed(self, name: str, signed: frozenset[str]) -> bool:
        if name == NONE:
            return True
        group = next((g for g in self.groups if g.name == name), None)
        if group is None:
            return name in signed
        return sum(self._witnessed(m, signed) for m in group.members) >= group.threshold

    def describe_quorum(self) -> str:
        """The quorum rule in words (English, for the CLI; the web says it in Spanish)."""
        return self._describe(self.quorum)

    def _describe(self, name: str) -> str:
        if name == NONE:
            return "no cosignature required"
        group = next((g for g in self.groups if g.name == name), None)
        if group is None:
            return name
        inner = ", ".join(self._describe(m) for m in group.members)
        return f"{group.threshold} of ({inner})"


def parse_policy(text: str) -> Policy:
    """Parse a tlog-policy file; PolicyError names the first bad line."""
    if not isinstance(text, str):
        raise PolicyError("policy must be text")
    logs: list[Verifier] = []
    witnesses: list[Witness] = []
    groups: list[Group] = []
    names: set[str] = set()
    keys: set[bytes] = set()
    quorum: str | None = None
    for number, raw in enumerate(text.split("\n"), start=1):
        if any(ch < " " and ch != "\t" for ch in raw) or "\x7f" in raw:
            raise PolicyError(f"line {number}: control characters are not allowed")
        line = raw.strip(" \t")
        if not line or line.startswith("#"):
            continue
        fields = _WHITESPACE.split(line)
        keyword, args = fields[0], fields[1:]
        where = f"line {number}"
        if keyword == "log":
            if len(args) not in (1, 2):
                raise PolicyError(f"{where}: expected 'log <vkey> [<url>]'")
            log = _parse(parse_vkey, args[0], where)
            if log.public_key in keys:
                raise PolicyError(f"{where}: duplicate key")
            keys.add(log.public_key)
            logs.append(log)
        elif keyword == "witness":
            if len(args) not in (2, 3):
                raise PolicyError(f"{where}: expected 'witness <name> <vkey> [<url>]'")
            name = _new_name(args[0], names, where)
            verifier = _parse(parse_cosigner_vkey, args[1], where)
            if verifier.public_key in keys:
                raise PolicyError(f"{where}: duplicate key")
            keys.add(verifier.public_key)
            witnesses.append(Witness(name, verifier, args[2] if len(args) == 3 else None))
        elif keyword == "group":
            if len(args) < 3:
                raise PolicyError(f"{where}: expected 'group <name> <all|any|k> <name>...'")
            name = _new_name(args[0], names, where)
            members = tuple(args[2:])
            for member in members:
                if member == NONE or member not in names or member == name:
                    raise PolicyError(f"{where}: {member!r} is not a witness or group defined "
                                      "on an earlier line")
            if len(set(members)) != len(members):
                raise PolicyError(f"{where}: a member is listed twice")
            threshold = _threshold(args[1], len(members), where)
            groups.append(Group(name, threshold, members))
        elif keyword == "quorum":
            if quorum is not None:
                raise PolicyError(f"{where}: a policy has exactly one quorum line")
            if len(args) != 1 or (args[0] != NONE and args[0] not in names):
                raise PolicyError(f"{where}: expected 'quorum <name>' naming a witness or "
                                  "group defined earlier, or 'none'")
            quorum = args[0]
        else:
            raise PolicyError(f"{where}: unknown keyword {keyword!r}")
        if max(len(logs), len(witnesses), len(groups)) > MAX_ENTRIES:
            raise PolicyError(f"{where}: more than {MAX_ENTRIES} logs, witnesses or groups")
    if quorum is None:
        raise PolicyError("the policy has no quorum line")
    return Policy(tuple(logs), tuple(witnesses), tuple(groups), quorum, text)


def _parse(parser, text: str, where: str):
    try:
        return parser(text)
    except NoteError as exc:
        raise PolicyError(f"{where}: {exc}") from None


def _new_name(name: str, names: set[str], where: str) -> str:
    if name == NONE or name in names:
        raise PolicyError(f"{where}: the name {name!r} is taken")
    names.add(name)
    return name


def _threshold(text: str, members: int, where: str) -> int:
    if text == "all":
        return members
    if text == "any":
        return 1
    if not re.fullmatch(r"[1-9][0-9]*", text) or not 1 <= int(text) <= members:
        raise PolicyError(f"{where}: threshold must be all, any or 1..{members}")
    return int(text)


def load_policy(path: Path | str) -> Policy:
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot read the policy: {exc}") from None
    return parse_policy(text)


def configured_policy() -> Policy | None:
    """The operator's policy named by $LIFECYCLE_WITNESS_POLICY, or None when unset."""
    import os

    path = os.environ.get(POLICY_ENV)
    return load_policy(path) if path else None
