"""Offline validation of what lifecycle publishes, against the vendored schemas and codelists.

Every schema is registered under its absolute `id` URL (the package schemas refer to the release
and project schemas by those URLs), so resolving a reference never reaches the network. Closed
codelists are checked twice: by the schemas' `enum`s and by reading the codelist CSVs, so a value
that a schema copy happened to leave open is still caught.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
OCDS_RELEASE_PACKAGE = "ocds/release-package-schema.json"
OCDS_RECORD_PACKAGE = "ocds/record-package-schema.json"
OCDS_RELEASE = "ocds/release-schema.json"
OCDS_VERSIONED_RELEASE = "ocds/versioned-release-validation-schema.json"
OC4IDS_PROJECT_PACKAGE = "oc4ids/project-package-schema.json"
OC4IDS_PROJECT = "oc4ids/project-schema.json"
_ALL = (OCDS_RELEASE_PACKAGE, OCDS_RECORD_PACKAGE, OCDS_RELEASE, OCDS_VERSIONED_RELEASE,
        OC4IDS_PROJECT_PACKAGE, OC4IDS_PROJECT)


class InvalidPackage(ValueError):
    """A package that does not validate: a bug in lifecycle, never something to publish."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems[:5]))


@dataclass(frozen=True)
class Problem:
    path: str  # JSON pointer-like path to the value at fault
    message: str

    def __str__(self) -> str:
        return f"{self.path or '/'}: {self.message}"


@cache
def load_schema(name: str) -> dict:
    return json.loads((SCHEMA_DIR / name).read_text("utf-8"))


@cache
def registry() -> Registry:
    resources = []
    for name in _ALL:
        schema = load_schema(name)
        resources.append((schema["id"], Resource.from_contents(schema, default_specification=DRAFT4)))
    return Registry().with_resources(resources)


@cache
def validator(name: str) -> Draft4Validator:
    return Draft4Validator(load_schema(name), registry=registry(),
                           format_checker=Draft4Validator.FORMAT_CHECKER)


@cache
def codelist(standard: str, filename: str) -> frozenset[str]:
    """The codes of one codelist CSV (its `Code` column)."""
    with (SCHEMA_DIR / standard / "codelists" / filename).open(encoding="utf-8", newline="") as f:
        return frozenset(row["Code"] for row in csv.DictReader(f))


def _resolve(schema: dict, root: dict) -> dict:
    ref = schema.get("$ref")
    while ref and ref.startswith("#/"):
        node = root
        for part in ref[2:].split("/"):
            node = node[part]
        schema, ref = node, node.get("$ref")
    return schema


def _closed_codelist_problems(data, schema: dict, root: dict, standard: str, path: str,
                              out: list[Problem]) -> None:
    """Walk the data beside its schema; check each value of a closed codelist against the CSV.
    References to other schema files (the package → release link) are followed by the caller."""
    schema = _resolve(schema, root)
    if schema.get("openCodelist") is False and "codelist" in schema:
        codes = codelist(standard, schema["codelist"])
        values = data if isinstance(data, list) else [data]
        for value in values:
            if value is not None and value not in codes:
                out.append(Problem(path, f"{value!r} is not in the closed codelist "
                                         f"{schema['codelist']}"))
        return
    if isinstance(data, dict):
        properties = schema.get("properties", {})
        for key, value in data.items():
            if key in properties:
                _closed_codelist_problems(value, properties[key], root, standard,
                                          f"{path}/{key}", out)
    elif isinstance(data, list) and isinstance(schema.get("items"), dict):
        for i, value in enumerate(data):
            _closed_codelist_problems(value, schema["items"], root, standard, f"{path}/{i}", out)


def problems(package: dict, kind: str) -> list[Problem]:
    """Every schema and closed-codelist problem of a package. `kind` is one of
    `release-package`, `record-package` or `project-package`."""
    names = {"release-package": OCDS_RELEASE_PACKAGE, "record-package": OCDS_RECORD_PACKAGE,
             "project-package": OC4IDS_PROJECT_PACKAGE}
    found = [Problem("/" + "/".join(str(p) for p in error.absolute_path), error.message)
             for error in validator(names[kind]).iter_errors(package)]
    if kind == "release-package":
        release = load_schema(OCDS_RELEASE)
        for i, item in enumerate(package.get("releases") or []):
            _closed_codelist_problems(item, release, release, "ocds", f"/releases/{i}", found)
    elif kind == "record-package":
        release, versioned = load_schema(OCDS_RELEASE), load_schema(OCDS_VERSIONED_RELEASE)
        for i, record in enumerate(package.get("records") or []):
            for j, item in enumerate(record.get("releases") or []):
                _closed_codelist_problems(item, release, release, "ocds",
                                          f"/records/{i}/releases/{j}", found)
            if "compiledRelease" in record:
                _closed_codelist_problems(record["compiledRelease"], release, release, "ocds",
                                          f"/records/{i}/compiledRelease", found)
            if "versionedRelease" in record:
                _versioned_problems(record["versionedRelease"], versioned, versioned,
                                    f"/records/{i}/versionedRelease", found)
    else:
        project = load_schema(OC4IDS_PROJECT)
        for i, item in enumerate(package.get("projects") or []):
            _closed_codelist_problems(item, project, project, "oc4ids", f"/projects/{i}", found)
    return found


def _versioned_problems(data, schema: dict, root: dict, path: str, out: list[Problem]) -> None:
    """A versioned release holds each field as a list of {releaseID, releaseDate, releaseTag,
    value}; the schema checks the value's codes, and so does this, on each version's value."""
    schema = _resolve(schema, root)
    if isinstance(data, list) and data and isinstance(data[0], dict) and "releaseDate" in data[0]:
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        value_schema = items.get("properties", {}).get("value", {})
        for i, version in enumerate(data):
            _closed_codelist_problems(version.get("value"), value_schema, root, "ocds",
                                      f"{path}/{i}/value", out)
        return
    if isinstance(data, dict):
        properties = schema.get("properties", {})
        for key, value in data.items():
            if key in properties:
                _versioned_problems(value, properties[key], root, f"{path}/{key}", out)
    elif isinstance(data, list) and isinstance(schema.get("items"), dict):
        for i, value in enumerate(data):
            _versioned_problems(value, schema["items"], root, f"{path}/{i}", out)


def check(package: dict, kind: str) -> dict:
    """The package itself when it validates; `InvalidPackage` listing every problem if not."""
    found = problems(package, kind)
    if found:
        raise InvalidPackage(found)
    return package
