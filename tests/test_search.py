"""Search that readers expect: accents and case do not matter, and a supplier's name or RUC
finds the works awarded to it (the portal and `GET /works?search=`)."""

from __future__ import annotations

from lifecycle.search import fold, search_key


def test_fold_ignores_accents_case_and_spacing():
    assert fold("  Túcume   PUENTE ") == "tucume puente"
    assert fold("Ñuñoa") == "nunoa"  # ñ folds as n, as people type without it
    assert fold("ﬁ") == "fi"  # NFKC


def test_works_are_found_without_accents_and_by_their_details(world):
    work = world.lc.correct_work(actor=world.official, work_id=world.work_id,
                                 district="Ferreñafe", cui="2345678",
                                 reason="datos del expediente")
    assert "ferrenafe" in search_key(work)
    for words in ("chiclayo–ferreñafe", "CHICLAYO", "ferrenafe", "2345678", "LAM-2026",
                  "gobierno regional de lambayeque"):
        found = world.lc.list_works(search=words).works
        assert [w.id for w in found] == [world.work_id], words
    assert world.lc.list_works(search="Cusco").works == []
    # LIKE's wildcards are literal characters here.
    assert world.lc.list_works(search="%").works == []
    assert world.lc.list_works(search="_").works == []


def test_the_awarded_supplier_and_its_ruc_find_the_work(world):
    assert search_key(world.work).count("|") >= 2
    award = {"supplier": {"name": "Constructora Andina S.A.C.", "tax_id": "20123456786"}}
    work = world.work
    work.award = award
    key = search_key(work)
    assert "constructora andina s.a.c." in key and "20123456786" in key
