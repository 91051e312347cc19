"""Every release, record and project package the demo produces validates, and every record's
compiled release is what the standard's merge rules build from its releases."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from ocdsmerge import Merger
from typer.testing import CliRunner

from lifecycle.bootstrap import open_lifecycle
from lifecycle.cli import app
from lifecycle.opendata.validate import problems
from tests.conftest import fixtures_dir


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The demo (on SQLite; the data are the same on PostgreSQL) and its `export ocds` folder."""
    folder = tmp_path_factory.mktemp("demo") / "data"
    built = CliRunner().invoke(app, ["demo", "--data-dir", str(folder)],
                               env={"LIFECYCLE_DATABASE_URL": ""})
    assert built.exit_code == 0, built.output
    out = folder.parent / "open-data"
    result = CliRunner().invoke(app, ["export", "ocds", str(out), "--data-dir", str(folder)],
                                env={"LIFECYCLE_DATABASE_URL": ""})
    assert result.exit_code == 0, result.output
    lc = open_lifecycle(folder, url=f"sqlite:///{folder / 'lifecycle.db'}")
    works = sum(lc.counts()["stage"].values())
    lc.engine.dispose()
    return out, works


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_every_package_of_the_demo_validates(exported):
    exported, works = exported
    for name, kind in (("release-package.json", "release-package"),
                       ("record-package.json", "record-package"),
                       ("project-package.json", "project-package")):
        assert problems(json.loads((exported / name).read_text("utf-8")), kind) == [], name
    records = lines(exported / "records.jsonl")
    projects = lines(exported / "projects.jsonl")
    assert len(records) == len(projects) == works > 50  # one of each per demo work


def test_the_demo_publishes_every_stage_of_the_process(exported):
    exported = exported[0]
    tags = Counter(t for r in lines(exported / "releases.jsonl") for t in r["tag"])
    for tag in ("planning", "planningUpdate", "tender", "tenderUpdate", "award", "contract",
                "implementationUpdate", "contractTermination", "tenderCancellation"):
        assert tags[tag] > 0, tag
    statuses = {p["status"] for p in lines(exported / "projects.jsonl")}
    assert {"identification", "preparation", "implementation", "completion",
            "cancelled"} <= statuses


def test_demo_records_compile_as_ocdsmerge_does(exported):
    exported = exported[0]
    reference = Merger(schema=str(fixtures_dir("ocds") / "release-schema.json"))
    for record in lines(exported / "records.jsonl"):
        assert record["compiledRelease"] == reference.create_compiled_release(
            record["releases"]), record["ocid"]


def test_demo_parties_are_keyed_by_ruc(exported):
    exported = exported[0]
    for record in lines(exported / "records.jsonl"):
        for party in record["compiledRelease"]["parties"]:
            if {"buyer", "supplier"} & set(party["roles"]):
                assert party["identifier"]["scheme"] == "PE-RUC"
                assert party["id"] == "PE-RUC-" + party["identifier"]["id"]
