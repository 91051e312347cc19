"""The tables the demo dataset is made from: regions, organizations, places, people's names,
work types and the texts that officials and members write. Only data; lifecycle.demo uses it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Region:
    name: str
    code: str  # prefix of the works' codes
    government: str  # the regional government: an entity with an official
    municipality: str | None  # a provincial municipality with an official, if any
    chamber: str  # private sector
    engineers: str  # professional association
    university: str  # academia
    civil_society: tuple[tuple[str, tuple[str, ...]], ...]  # (organization, constituencies)
    places: tuple[str, ...]
    rivers: tuple[str, ...]


def _cip(department: str) -> str:
    return f"Colegio de Ingenieros del Perú – Consejo Departamental {department}"


def _mesa(region: str) -> str:
    return f"Mesa de Concertación para la Lucha contra la Pobreza – {region}"


REGIONS: tuple[Region, ...] = (
    Region("Lambayeque", "LAM", "Gobierno Regional de Lambayeque",
           "Municipalidad Provincial de Chiclayo",
           "Cámara de Comercio y Producción de Lambayeque", _cip("de Lambayeque"),
           "Universidad Nacional Pedro Ruiz Gallo",
           ((_mesa("Lambayeque"), ("women",)),
            ("Federación de Comunidades Campesinas de Incahuasi y Cañaris", ("indigenous",))),
           ("Chiclayo", "Ferreñafe", "Lambayeque", "Motupe", "Olmos", "Túcume", "Jayanca",
            "Mórrope", "Zaña", "Oyotún", "Incahuasi", "Cañaris", "Monsefú", "Pimentel"),
           ("La Leche", "Reque", "Chancay", "Zaña")),
    Region("Cusco", "CUS", "Gobierno Regional del Cusco", "Municipalidad Provincial del Cusco",
           "Cámara de Comercio del Cusco", _cip("del Cusco"),
           "Universidad Nacional de San Antonio Abad del Cusco",
           ((_mesa("Cusco"), ()),
            ("Federación Departamental de Campesinos del Cusco", ("indigenous",))),
           ("Urubamba", "Calca", "Anta", "Sicuani", "Espinar", "Quillabamba", "Paucartambo",
            "Santo Tomás", "Acomayo", "Pisac", "Ollantaytambo", "Yanaoca"),
           ("Vilcanota", "Apurímac", "Urubamba", "Velille")),
    Region("Piura", "PIU", "Gobierno Regional Piura", None,
           "Cámara de Comercio y Producción de Piura", _cip("de Piura"),
           "Universidad Nacional de Piura",
           ((_mesa("Piura"), ()),
            ("Asociación de Mujeres Emprendedoras del Bajo Piura", ("women",))),
           ("Sullana", "Paita", "Talara", "Chulucanas", "Morropón", "Ayabaca", "Huancabamba",
            "Sechura", "Catacaos", "Tambogrande", "Las Lomas", "La Unión"),
           ("Chira", "Piura", "Quiroz", "Huancabamba")),
    Region("Junín", "JUN", "Gobierno Regional Junín", "Municipalidad Provincial de Huancayo",
           "Cámara de Comercio de Huancayo", _cip("de Junín"),
           "Universidad Nacional del Centro del Perú",
           ((_mesa("Junín"), ("women",)),
            ("Central de Comunidades Nativas Asháninka de la Selva Central", ("indigenous",))),
           ("Jauja", "Concepción", "Chupaca", "Tarma", "La Oroya", "Satipo", "Pichanaqui",
            "La Merced", "Junín", "Sicaya", "Pangoa", "Perené"),
           ("Mantaro", "Perené", "Tarma", "Ene")),
    Region("Arequipa", "ARE", "Gobierno Regional de Arequipa", None,
           "Cámara de Comercio e Industria de Arequipa", _cip("de Arequipa"),
           "Universidad Nacional de San Agustín de Arequipa",
           ((_mesa("Arequipa"), ("women",)),
            ("Consejo Regional de la Juventud de Arequipa", ("youth",))),
           ("Camaná", "Mollendo", "Chivay", "Aplao", "Cotahuasi", "Majes", "Caravelí",
            "Cabanaconde", "Chala", "Yura", "Characato", "Cocachacra"),
           ("Chili", "Colca", "Majes", "Ocoña")),
    Region("Ayacucho", "AYA", "Gobierno Regional de Ayacucho",
           "Municipalidad Provincial de Huamanga",
           "Cámara de Comercio, Industria y Turismo de Ayacucho", _cip("de Ayacucho"),
           "Universidad Nacional de San Cristóbal de Huamanga",
           ((_mesa("Ayacucho"), ("indigenous",)),
            ("Federación de Mujeres Organizadas de Ayacucho", ("women", "indigenous"))),
           ("Huanta", "San Miguel", "Cangallo", "Vilcas Huamán", "Puquio", "Coracora", "Tambo",
            "Quinua", "Vischongo", "Sancos", "Querobamba", "Socos"),
           ("Pampas", "Cachi", "Torobamba", "Mantaro")),
    Region("San Martín", "SMA", "Gobierno Regional San Martín", None,
           "Cámara de Comercio y Turismo de San Martín", _cip("de San Martín"),
           "Universidad Nacional de San Martín",
           (("Consejo de la Juventud de San Martín", ("youth",)),
            ("Federación de Pueblos Indígenas Kechwa de la Región San Martín", ("indigenous",))),
           ("Moyobamba", "Tarapoto", "Rioja", "Juanjuí", "Tocache", "Lamas", "Bellavista",
            "Picota", "Saposoa", "Soritor", "Nueva Cajamarca", "Chazuta"),
           ("Mayo", "Huallaga", "Sisa", "Biavo")),
)

COMPTROLLER = "Contraloría General de la República"
NEWSROOM = "Periodismo de investigación – Red de Periodistas Regionales"

FIRST_NAMES = (
    "Rosa", "Jorge", "Ana", "Luis", "Carmen", "María", "José", "Julia", "Pedro", "Elena",
    "Víctor", "Gladys", "Walter", "Maribel", "César", "Nélida", "Raúl", "Lucía", "Edwin",
    "Yolanda", "Hugo", "Marleny", "Óscar", "Teresa", "Wilber", "Flor", "Félix", "Roxana",
    "Alberto", "Karina", "Ricardo", "Sonia", "Fredy", "Milagros", "Percy", "Diana", "Juan",
    "Patricia", "Aurelio", "Nancy", "Alfredo", "Liliana", "Ernesto", "Silvia",
)
SURNAMES = (
    "Quispe", "Flores", "Huamán", "Mamani", "Rojas", "Chávez", "Vásquez", "Ramírez",
    "Torres", "Castillo", "Mendoza", "Cárdenas", "Sánchez", "Gutiérrez", "Paredes", "Núñez",
    "Condori", "Ccahuana", "Salazar", "Vargas", "Espinoza", "Pariona", "Yupanqui", "Tello",
    "Silva", "Medina", "Lozano", "Villanueva", "Huaranga", "Aguirre", "Ruiz", "Calle",
    "Cruz", "Poma", "Zapata", "Palacios", "Huayta", "Arévalo", "Guevara", "Sangama",
)


@dataclass(frozen=True)
class WorkType:
    name: str
    titles: tuple[str, ...]  # format with place, other (a second place), river, number
    amount_range: tuple[int, int]  # reference amount in soles, whole
    suppliers: tuple[str, ...]  # format with place, region, surname, river


WORK_TYPES: tuple[WorkType, ...] = (
    WorkType("road", (
        "Mejoramiento de la carretera {place}–{other}",
        "Rehabilitación del camino vecinal {place}–{other}",
        "Mejoramiento de la transitabilidad vehicular en la vía {place}–{other}",
    ), (6_000_000, 48_000_000), (
        "Consorcio Vial {place}", "Constructora {surname} S.A.C.",
        "Consorcio Carreteras del {region}",
    )),
    WorkType("irrigation", (
        "Mejoramiento del canal de riego {place} en el valle del {river}",
        "Instalación del sistema de riego tecnificado en {place}",
        "Mejoramiento y ampliación del servicio de agua para riego en {place}",
    ), (1_800_000, 22_000_000), (
        "Consorcio Hidráulico {river}", "Ingeniería y Riego {surname} E.I.R.L.",
        "Consorcio Agua para el Agro {place}",
    )),
    WorkType("health", (
        "Creación del puesto de salud de {place}",
        "Mejoramiento de los servicios de salud del centro de salud {place}",
        "Mejoramiento y ampliación de los servicios del hospital de apoyo de {place}",
    ), (2_500_000, 60_000_000), (
        "Consorcio Salud {region}", "Constructora {surname} & Asociados S.A.C.",
        "Consorcio Hospitalario {place}",
    )),
    WorkType("school", (
        "Mejoramiento del servicio educativo de la I.E. N.° {number} de {place}",
        "Ampliación de aulas y servicios higiénicos de la I.E. {patron} de {place}",
        "Mejoramiento de la infraestructura del colegio emblemático de {place}",
    ), (1_500_000, 14_000_000), (
        "Consorcio Educativo {place}", "Edificaciones {surname} S.A.C.",
        "Consorcio Escuelas del {region}",
    )),
    WorkType("bridge", (
        "Construcción del puente vehicular {place} sobre el río {river}",
        "Reconstrucción del puente peatonal de {place} sobre el río {river}",
    ), (2_000_000, 30_000_000), (
        "Consorcio Puente {river}", "Estructuras {surname} S.A.C.",
    )),
    WorkType("water", (
        "Mejoramiento y ampliación del servicio de agua potable y alcantarillado en {place}",
        "Creación del sistema de agua potable y saneamiento rural en {place}",
        "Mejoramiento de la planta de tratamiento de aguas residuales de {place}",
    ), (3_000_000, 55_000_000), (
        "Consorcio Saneamiento {region}", "Hidrotecnia {surname} S.A.C.",
        "Consorcio Agua Limpia {place}",
    )),
)

SCHOOL_PATRONS = (
    "José Carlos Mariátegui", "César Vallejo", "José María Arguedas", "Micaela Bastidas",
    "Túpac Amaru II", "Miguel Grau", "María Parado de Bellido", "Inca Garcilaso de la Vega",
)

# Documents each trigger needs (DESIGN §2), with the titles a Peruvian entity gives them.
DOCUMENT_TITLES: dict[str, tuple[str, ...]] = {
    "feasibilityStudy": ("Estudio de preinversión a nivel de perfil",
                         "Ficha técnica estándar del proyecto de inversión",
                         "Estudio de preinversión a nivel de factibilidad"),
    "needsAssessment": ("Diagnóstico de brechas de infraestructura y servicios",),
    "environmentalImpact": ("Certificación ambiental – Declaración de Impacto Ambiental",),
    "technicalSpecifications": ("Expediente técnico – especificaciones técnicas",
                                "Expediente técnico de obra – memoria descriptiva y "
                                "especificaciones"),
    "billOfQuantity": ("Metrados y presupuesto de obra",),
    "budgetApproval": ("Resolución de aprobación del expediente técnico y certificación "
                       "presupuestal",
                       "Resolución Ejecutiva Regional que aprueba el expediente técnico"),
    "evaluationReports": ("Acta de otorgamiento de la buena pro",
                          "Informe del comité de selección y cuadro comparativo"),
    "contractSigned": ("Contrato de ejecución de obra",),
    "physicalProgressReport": ("Valorización mensual de obra N.° {n}",),
    "completionCertificate": ("Acta de recepción de obra",),
    "finalAudit": ("Informe de liquidación del contrato de obra",),
    "cancellationDetails": ("Resolución que cancela la inversión y sustento técnico",
                            "Informe de cierre por inviabilidad sobreviniente"),
}
VOID_REPORT = "Acta de declaratoria de desierto del procedimiento de selección"
REVISED = " (versión corregida)"

JUSTIFICATIONS = {
    "approve_design": "El estudio de preinversión está concluido y declarado viable; se "
                      "solicita pasar a la elaboración del expediente técnico.",
    "publish_tender": "Expediente técnico aprobado con certificación presupuestal; se solicita "
                      "convocar la licitación pública.",
    "award": "Concluida la evaluación de ofertas, el comité de selección propone otorgar la "
             "buena pro.",
    "sign_contract": "Consentida la buena pro y presentadas las garantías, se solicita la "
                     "firma del contrato.",
    "close": "Obra concluida y recibida por el comité de recepción; se solicita el cierre.",
    "declare_void": "Ninguna oferta cumplió los requisitos de calificación; se propone "
                    "declarar desierto el procedimiento y revisar el expediente.",
    "resume": "Superadas las causas de la suspensión, se solicita reanudar la obra.",
    "cancel": "Se propone cancelar la inversión.",
}
SUSPEND_REASONS = (
    "Paralización por lluvias intensas e interrupción de la vía de acceso a la obra.",
    "Controversia con el contratista sometida a arbitraje; se suspende hasta el laudo.",
    "Hallazgo de restos arqueológicos; se espera el pronunciamiento del Ministerio de Cultura.",
    "Falta de disponibilidad presupuestal para el presente ejercicio fiscal.",
    "Conflicto social en la zona: los comuneros exigen consulta sobre el trazo.",
)
CANCEL_REASONS = (
    "Duplicidad con un proyecto del gobierno nacional en la misma localidad.",
    "El terreno no cuenta con saneamiento físico legal y no es posible adquirirlo.",
    "Recorte presupuestal: la inversión deja de ser prioritaria en el programa multianual.",
)
# Why a member blocks a stage change, and the document the official attaches in reply.
_FILE_BLOCKS = (
    ("El expediente no incluye el estudio de mecánica de suelos; sin él no se puede garantizar "
     "la estabilidad de la obra.", "Estudio de mecánica de suelos y absolución de observaciones"),
    ("El presupuesto de obra usa precios unitarios muy por encima de los del mercado local.",
     "Análisis de precios unitarios actualizado con cotizaciones locales"),
    ("No se ha consultado a las comunidades por donde pasa el trazo.",
     "Actas de los talleres informativos con las comunidades"),
    ("Falta la disponibilidad de agua certificada por la Autoridad Nacional del Agua.",
     "Resolución de acreditación de disponibilidad hídrica"),
)
BLOCK_REASONS: dict[str, tuple[tuple[str, str], ...]] = {
    "approve_design": (
        ("El estudio no sustenta la demanda: la población beneficiaria está sobreestimada.",
         "Estudio de demanda actualizado con datos del censo"),
        ("El estudio no evalúa alternativas de ubicación ni el riesgo de inundación.",
         "Análisis de alternativas y evaluación de riesgo de desastres"),
    ) + _FILE_BLOCKS[2:],
    "publish_tender": _FILE_BLOCKS,
    "award": (
        ("El postor ganador no acredita la experiencia exigida en las bases.",
         "Informe del comité sobre la experiencia acreditada por el postor"),
    ),
    "declare_void": (
        ("Las bases exigían una experiencia desproporcionada; el expediente debe revisarse antes "
         "de convocar de nuevo.", "Informe de revisión de los requisitos de calificación"),
    ),
    "sign_contract": (
        ("La garantía de fiel cumplimiento fue emitida por una empresa no supervisada por la SBS.",
         "Carta fianza emitida por un banco supervisado por la SBS"),
        ("El contrato no incluye la penalidad por retraso prevista en las bases.",
         "Adenda al proyecto de contrato con las penalidades de las bases"),
    ),
    "close": (
        ("La obra presenta fisuras en el concreto; no debe recibirse sin subsanarlas.",
         "Informe de subsanación de observaciones de la recepción"),
        ("Faltan las pruebas de calidad de los materiales en el informe final.",
         "Certificados de ensayos de calidad de materiales"),
    ),
}
BLOCK_LIFTED = "Revisé la documentación complementaria: levanto mi bloqueo."
OBSERVATIONS = (
    ("Los metrados de movimiento de tierras no coinciden con los planos de perfil longitudinal.",
     "Se corrigieron los metrados y se adjunta la hoja de cálculo revisada."),
    ("No se indica la fuente de agua ni la licencia de uso.",
     "La licencia de uso de agua fue otorgada por la ANA; se incorpora al expediente."),
    ("El expediente no considera rampas ni accesos para personas con discapacidad.",
     "Se incorporaron rampas y servicios higiénicos accesibles según la norma A.120."),
    ("El análisis de precios unitarios del concreto supera en 30 % los precios de la zona.",
     "Se actualizaron los precios con cotizaciones de tres proveedores locales."),
    ("Falta el plan de mitigación ambiental de la etapa de ejecución.",
     "Se adjunta el plan de manejo ambiental aprobado por la autoridad sectorial."),
    ("El cronograma no prevé la temporada de lluvias de diciembre a marzo.",
     "Se reprogramaron las partidas críticas fuera de la temporada de lluvias."),
)
_ADVISED = "Mi organización asesoró a la entidad en la elaboración del estudio."
_NEIGHBOUR = "Soy propietario de un terreno colindante con la obra."
_BIDDER = "Un familiar directo es socio de una de las empresas que participan en el proceso."
CONFLICT_STATEMENTS: dict[str, tuple[str, ...]] = {
    "approve_design": (_ADVISED, _NEIGHBOUR),
    "publish_tender": (_ADVISED, _NEIGHBOUR),
    "award": (_BIDDER,),
    "sign_contract": (_BIDDER,),
}
