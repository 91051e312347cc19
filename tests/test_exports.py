"""Downloads that journalists open in Excel: Spanish headers, accents intact (UTF-8 with BOM),
exact amounts; the same rows as the pages they mirror."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from api.main import create_app

WORK_HEADERS = ["Código", "Título", "Entidad pública", "Región", "Provincia", "Distrito", "CUI",
                "Red", "Etapa",
                "Monto referencial", "Moneda", "Último cambio", "Días de retraso"]


@pytest.fixture
def client(world):
    with TestClient(create_app(world.lc)) as test_client:
        yield test_client


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for UTF-8
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_works_csv_in_spanish_with_accents_and_decimal_strings(world, client):
    rows = read_csv(client.get("/api/v1/exports/works.csv"))
    assert rows[0] == WORK_HEADERS
    (row,) = rows[1:]
    values = dict(zip(rows[0], row))
    assert values["Título"] == "Mejoramiento de la carretera Chiclayo–Ferreñafe"
    assert values["Etapa"] == "Diseño"
    assert values["Monto referencial"] == "12500000.00"
    assert values["Región"] == "Lambayeque"
    assert values["Red"] == "Red de Integridad Lambayeque"
    assert 'filename="obras.csv"' in client.get("/api/v1/exports/works.csv").headers[
        "content-disposition"]


def test_works_csv_follows_the_list_filters(world, client):
    world.lc.register_work(actor=world.official, code="LAM-2026-002",
                           title="Puesto de salud de Íllimo", region="Lambayeque",
                           reference_amount="980000.50", currency="PEN", province="Lambayeque",
                           district="Íllimo", cui="2501234")
    world.advance("approve_design", ("feasibilityStudy",))
    codes = [r[0] for r in read_csv(client.get("/api/v1/exports/works.csv",
                                               params={"stage": "design"}))[1:]]
    assert codes == ["LAM-2026-002"]
    everything = read_csv(client.get("/api/v1/exports/works.csv"))[1:]
    assert [r[9] for r in everything] == ["12500000.00", "980000.50"]
    assert everything[1][4:7] == ["Lambayeque", "Íllimo", "2501234"]
    bad = client.get("/api/v1/exports/works.csv", params={"stage": "nowhere"})
    assert bad.status_code == 422


def test_english_headers_when_the_reader_asks(client):
    rows = read_csv(client.get("/api/v1/exports/works.csv",
                               headers={"accept-language": "en"}))
    assert rows[0][:3] == ["Code", "Title", "Public entity"]
    assert rows[1][8] == "Design"


def test_stalled_csv_lists_overdue_works(world, client):
    world.clock.advance(days=200)  # design's service level is 180 days
    rows = read_csv(client.get("/api/v1/exports/stalled.csv"))
    assert rows[0] == ["Código", "Título", "Región", "Red", "Etapa", "En esta etapa desde",
                       "Nivel de servicio (días)", "Días de retraso"]
    (row,) = rows[1:]
    assert row[0] == "LAM-2026-001" and row[4] == "Diseño" and row[6] == "180"
    assert int(row[7]) >= 19


def test_history_csv_is_the_timeline_in_words(world, client):
    world.advance("approve_design", ("feasibilityStudy",))
    rows = read_csv(client.get(f"/api/v1/exports/works/{world.work_id}/history.csv"))
    assert rows[0] == ["Entrada del registro", "Fecha y hora (UTC)", "Tipo de entrada",
                       "Quién", "Qué pasó"]
    types = [r[2] for r in rows[1:]]
    assert types[0] == "work.registered" and types[-1] == "transition.applied"
    assert [int(r[0]) for r in rows[1:]] == sorted(int(r[0]) for r in rows[1:])
    assert all(r[4] for r in rows[1:])
    assert client.get("/api/v1/exports/works/999/history.csv").status_code == 404


def test_xlsx_keeps_accents_and_exact_numbers(world, client):
    response = client.get("/api/v1/exports/works.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    sheet = book.active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == WORK_HEADERS
    assert rows[1][1] == "Mejoramiento de la carretera Chiclayo–Ferreñafe"
    assert rows[1][9] == 12500000
    assert sheet.cell(row=2, column=10).number_format == "#,##0.00"
    history = client.get(f"/api/v1/exports/works/{world.work_id}/history.xlsx")
    assert load_workbook(io.BytesIO(history.content)).active.max_row >= 2
    stalled = client.get("/api/v1/exports/stalled.xlsx")
    assert list(load_workbook(io.BytesIO(stalled.content)).active.iter_rows(
        values_only=True))[0][0] == "Código"


def test_the_pages_link_to_their_downloads(world, client):
    world.clock.advance(days=200)
    portal = client.get("/", params={"stage": "design", "region": "Lambayeque"})
    assert "Descargar todas las obras de esta lista:" in portal.text
    link = "/api/v1/exports/works.csv?region=Lambayeque&amp;stage=design"
    assert link in portal.text
    rows = read_csv(client.get(link.replace("&amp;", "&")))
    assert [r[0] for r in rows[1:]] == ["LAM-2026-001"]
    stalled = client.get("/reports/stalled")
    assert 'href="/api/v1/exports/stalled.csv"' in stalled.text
    assert "Descargar este reporte:" in stalled.text
    page = client.get(f"/works/{world.work_id}")
    assert f'href="/api/v1/exports/works/{world.work_id}/history.xlsx"' in page.text
