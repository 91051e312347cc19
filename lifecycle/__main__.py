"""`python -m lifecycle …` is the `lifecycle` command, for shells that have not seen the
console script yet (a fresh virtualenv, a pyenv shim that was not rehashed)."""

from lifecycle.cli import app

app(prog_name="lifecycle")
