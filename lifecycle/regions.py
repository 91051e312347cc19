"""Peru's regions as the forms offer them: the 24 departments, the Constitutional Province of
Callao and Lima Metropolitana (which has a regional government's powers), written as their
governments write them."""

REGIONS: tuple[str, ...] = (
    "Amazonas", "Áncash", "Apurímac", "Arequipa", "Ayacucho", "Cajamarca", "Callao", "Cusco",
    "Huancavelica", "Huánuco", "Ica", "Junín", "La Libertad", "Lambayeque", "Lima",
    "Lima Metropolitana", "Loreto", "Madre de Dios", "Moquegua", "Pasco", "Piura", "Puno",
    "San Martín", "Tacna", "Tumbes", "Ucayali",
)
