"""`lifecycle witness add-log|vkey|serve`: a witness's folder, key and trusted logs."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from lifecycle.cli import app
from lifecycle.evidence.witness import WitnessStore
from lifecycle.log.note import Signer, parse_cosigner_vkey

LOG = Signer("lifecycle.test/log", Ed25519PrivateKey.generate()).verifier.text()


def test_add_log_makes_the_witness_key_once_and_trusts_the_log(tmp_path):
    runner = CliRunner()
    folder = str(tmp_path / "w")
    first = runner.invoke(app, ["witness", "add-log", LOG, "--data-dir", folder,
                                "--name", "camara.test/witness"])
    assert first.exit_code == 0, first.output
    vkey = first.output.strip().splitlines()[-1]
    assert parse_cosigner_vkey(vkey).name == "camara.test/witness"
    again = runner.invoke(app, ["witness", "vkey", "--data-dir", folder])
    assert again.output.strip() == vkey  # the same key on every start
    assert [log.text() for log in WitnessStore(folder).logs()] == [LOG]
    renamed = runner.invoke(app, ["witness", "vkey", "--data-dir", folder, "--name", "other/w"])
    assert renamed.exit_code == 2  # a witness key belongs to one name


def test_a_new_witness_needs_a_name_and_a_valid_log_key(tmp_path):
    runner = CliRunner()
    nameless = runner.invoke(app, ["witness", "vkey", "--data-dir", str(tmp_path / "w")])
    assert nameless.exit_code == 2
    bad = runner.invoke(app, ["witness", "add-log", "not-a-key", "--data-dir",
                              str(tmp_path / "w"), "--name", "camara.test/witness"])
    assert bad.exit_code == 2
