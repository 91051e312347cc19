"""The package installs as a new user would install it: from a built wheel into a fresh virtual
environment, with the versions of the lock file, and `lifecycle serve --demo` then serves the
Spanish portal, its stylesheet and the API from that install alone (not from this checkout).

The install steps are the README's own: the first shell block of "The two commands" is parsed,
so a README that drifts from what works fails here."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _readme_run_command() -> list[str]:
    """The README's command that installs and starts the app, split on `&&`."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## The two commands"):]
    block = re.search(r"```sh\n(.+?)\n```", section, re.S)
    assert block, "README: no shell block under 'The two commands'"
    return [part.strip() for part in block.group(1).split("&&")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, timeout=900, **kwargs)
    assert done.returncode == 0, f"{shlex.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory) -> Path:
    """A fresh venv with the lock file's versions and the project installed from its wheel."""
    base = tmp_path_factory.mktemp("install")
    dist = base / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)])
    wheels = list(dist.glob("lifecycle-*.whl"))
    assert len(wheels) == 1, wheels
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python3"
    install, editable, _serve = _readme_run_command()
    # The README's dependency step, verbatim, run by the new environment's interpreter.
    words = shlex.split(install)
    assert words[:4] == ["python3", "-m", "pip", "install"], install
    _run([str(python), *words[1:]], cwd=ROOT)
    # The README's own-package step installs the checkout; here the wheel takes its place.
    assert shlex.split(editable)[:5] == ["python3", "-m", "pip", "install", "--no-deps"], editable
    _run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheels[0])])
    return venv


def test_the_wheel_carries_templates_static_files_migrations_and_translations(wheel_venv, tmp_path):
    python = wheel_venv / "bin" / "python3"
    probe = _run([str(python), "-c",
                  "import api, lifecycle, pathlib; a = pathlib.Path(api.__file__).parent; "
                  "l = pathlib.Path(lifecycle.__file__).parent; "
                  "print(a); print(sorted(p.name for p in (a / 'templates').iterdir())); "
                  "print((a / 'static' / 'site.css').is_file()); "
                  "print(len(list((l / 'migrations' / 'versions').glob('*.py')))); "
                  "print((l / 'locale' / 'es' / 'LC_MESSAGES' / 'messages.mo').is_file())"],
                 cwd=tmp_path)
    where, templates, css, migrations, catalog = probe.stdout.splitlines()
    assert str(wheel_venv) in where, "the package was imported from the checkout, not the wheel"
    assert "work.html" in templates and "base.html" in templates
    assert css == "True" and catalog == "True"
    assert int(migrations) >= 1


def test_serve_demo_from_the_wheel(wheel_venv, tmp_path):
    """`lifecycle serve --demo` from the wheel: the portal in Spanish, its CSS, the API."""
    *_install, serve = _readme_run_command()
    words = shlex.split(serve)
    assert words[:3] == ["python3", "-m", "lifecycle"] and "serve" in words, serve
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFECYCLE_")}
    server = subprocess.Popen(
        [str(wheel_venv / "bin" / "python3"), *words[1:], "--port", str(port),
         "--data-dir", str(tmp_path / "data"), "--no-access-log"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        page = None
        for _ in range(600):  # the demo builds 18 months of history first
            if server.poll() is not None:
                break
            try:
                page = httpx.get(base + "/", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.5)
        assert page is not None, f"the server never answered: {server.stderr.read()[-3000:] if server.poll() is not None else ''}"
        assert page.status_code == 200
        assert 'lang="es"' in page.text and "Obras" in page.text
        css = httpx.get(base + "/static/site.css", timeout=5)
        assert css.status_code == 200 and "text/css" in css.headers["content-type"]
        works = httpx.get(base + "/api/v1/works?limit=5", timeout=5).json()
        assert len(works["works"] if isinstance(works, dict) else works) == 5
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
