"""Romanian administrative documents, with diacritics, filled from a seeded random source."""

from __future__ import annotations

import random
from dataclasses import dataclass

_FIRST = [
    "Ion",
    "Maria",
    "Ștefan",
    "Ioana",
    "Mihai",
    "Elena",
    "Andrei",
    "Cătălina",
    "Răzvan",
    "Tudor",
    "Ancuța",
    "Costel",
    "Florența",
    "Gheorghe",
    "Lăcrămioara",
    "Bogdan",
    "Irina",
    "Dănuț",
]
_LAST = [
    "Popescu",
    "Ionescu",
    "Țânțăreanu",
    "Dumitrescu",
    "Stănescu",
    "Mureșan",
    "Georgescu",
    "Păunescu",
    "Constantinescu",
    "Șerban",
    "Vlădescu",
    "Nistorescu",
    "Căpățână",
    "Zăvoianu",
]
_STREETS = [
    "Șoseaua Olteniței",
    "Strada Huedin",
    "Bulevardul Metalurgiei",
    "Strada Ștrandului",
    "Calea Văcărești",
    "Strada Turnu Măgurele",
    "Șoseaua Berceni",
    "Strada Lizeanu",
    "Aleea Țebea",
    "Strada Cârlibaba",
    "Bulevardul Constantin Brâncoveanu",
    "Strada Ghimeș",
]
_MONTHS = [
    "ianuarie",
    "februarie",
    "martie",
    "aprilie",
    "mai",
    "iunie",
    "iulie",
    "august",
    "septembrie",
    "octombrie",
    "noiembrie",
    "decembrie",
]


@dataclass(frozen=True)
class SampleDocument:
    title: str
    document_type: str
    registration_number: str
    issue_date: str  # YYYY-MM-DD
    paragraphs: tuple[str, ...]


def _person(r: random.Random) -> str:
    return f"{r.choice(_FIRST)} {r.choice(_LAST)}"


def _address(r: random.Random) -> str:
    return f"{r.choice(_STREETS)} nr. {r.randint(1, 220)}, Sectorul 4, București"


def _body(r: random.Random, kind: str, who: str, where: str, nr: str, when: str) -> list[str]:
    common = [
        f"Având în vedere cererea înregistrată sub nr. {nr} din {when}, depusă de {who}, "
        f"cu domiciliul în {where}, precum și documentația anexată acesteia,",
        "În temeiul prevederilor Legii nr. 50/1991 privind autorizarea executării lucrărilor de "
        "construcții, republicată, cu modificările și completările ulterioare, și ale Legii "
        "nr. 350/2001 privind amenajarea teritoriului și urbanismul,",
        "Ținând seama de avizele favorabile emise de Direcția Generală de Urbanism și Amenajarea "
        "Teritoriului, de Serviciul Cadastru și de Inspectoratul pentru Situații de Urgență,",
    ]
    specific = {
        "autorizație de construire": [
            f"Se autorizează executarea lucrărilor de construire pentru o locuință cu regim de "
            f"înălțime P+{r.randint(1, 3)}, pe terenul situat în {where}, în suprafață de "
            f"{r.randint(180, 950)} mp, identificat prin număr cadastral {r.randint(200000, 239999)}.",
            "Titularul autorizației este obligat să anunțe data începerii lucrărilor la "
            "Inspectoratul de Stat în Construcții și la primărie, să păstreze pe șantier "
            "documentația tehnică și să respecte condițiile stabilite prin certificatul de urbanism.",
            f"Durata de execuție a lucrărilor este de {r.randint(6, 36)} de luni de la data "
            "începerii lucrărilor, iar autorizația își pierde valabilitatea dacă lucrările nu "
            "sunt începute în termen de douăsprezece luni de la emitere.",
        ],
        "dispoziție": [
            f"Se aprobă atribuirea ajutorului de urgență în cuantum de {r.randint(5, 40) * 100} "
            f"de lei domnului sau doamnei {who}, pentru acoperirea cheltuielilor de reparații ale "
            "locuinței afectate de inundații.",
            "Direcția Generală de Asistență Socială și Protecția Copilului va duce la îndeplinire "
            "prevederile prezentei dispoziții, iar Serviciul Relații cu Publicul o va comunica "
            "persoanei îndreptățite în termen de cinci zile lucrătoare.",
            "Prezenta dispoziție poate fi contestată la instanța de contencios administrativ "
            "competentă, în condițiile Legii nr. 554/2004, cu modificările ulterioare.",
        ],
        "hotărâre": [
            f"Consiliul Local al Sectorului 4 aprobă, în ședința ordinară din {when}, planul "
            f"urbanistic de detaliu pentru imobilul situat în {where}, cu {r.randint(15, 27)} "
            "de voturi pentru și nicio abținere.",
            "Se împuternicește primarul sectorului să semneze contractele și actele adiționale "
            "necesare, iar direcțiile de specialitate vor urmări îndeplinirea obligațiilor "
            "asumate de beneficiar.",
            "Secretarul general al sectorului va asigura comunicarea prezentei hotărâri către "
            "Instituția Prefectului Municipiului București și publicarea ei în monitorul oficial local.",
        ],
        "certificat de urbanism": [
            f"Se certifică regimul juridic, economic și tehnic al imobilului situat în {where}, "
            "teren intravilan aflat în proprietatea privată a solicitantului, fără sarcini.",
            f"Folosința actuală a terenului este curți construcții, iar coeficientul de utilizare "
            f"a terenului nu poate depăși valoarea de {r.randint(12, 30) / 10:.1f} conform planului "
            "urbanistic general aprobat.",
            f"Prezentul certificat de urbanism este valabil {r.randint(12, 24)} de luni de la data "
            "emiterii și nu ține loc de autorizație de construire sau de desființare.",
        ],
    }[kind]
    return (
        common
        + specific
        + [
            f"Întocmit de {_person(r)}, inspector de specialitate, și verificat de {_person(r)}, "
            "șef serviciu, conform procedurii interne de lucru.",
        ]
    )


_ARTICLES = (
    "Lucrările se vor executa numai pe baza proiectului tehnic verificat de specialiști atestați, "
    "cu respectarea normelor privind siguranța în exploatare și protecția mediului.",
    "Beneficiarul răspunde de păstrarea curățeniei pe drumurile publice din vecinătatea șantierului "
    "și de refacerea trotuarelor deteriorate în timpul execuției.",
    "Orice modificare a soluțiilor tehnice aprobate se face numai după obținerea unei noi autorizații, "
    "în condițiile legii, fără a afecta drepturile vecinilor.",
    "La terminarea lucrărilor, beneficiarul va solicita recepția la terminarea lucrărilor și va "
    "regulariza taxa de autorizare pe baza valorii finale a investiției.",
    "Nerespectarea prevederilor prezentului act atrage răspunderea contravențională, civilă sau "
    "penală, după caz, potrivit legislației în vigoare.",
    "Documentele originale se păstrează la registratura generală, iar copiile certificate se "
    "eliberează la cererea persoanelor îndreptățite, în termen de treizeci de zile.",
    "Funcționarii care au întocmit documentația răspund pentru exactitatea datelor înscrise și pentru "
    "respectarea termenelor de soluționare a petițiilor.",
    "Prezentul act se comunică Direcției de Taxe și Impozite Locale, Poliției Locale și "
    "Serviciului Disciplina în Construcții, spre știință și conformare.",
    "Cetățenii pot consulta documentele publice în sala de lectură a arhivei, de luni până joi, "
    "între orele nouă și șaisprezece, pe baza unei programări prealabile.",
    "În cazul în care suprafața construită depășește limitele aprobate, se dispune oprirea imediată "
    "a lucrărilor și aducerea terenului la starea inițială.",
)


def sample_document(seed: int, articles: int = 0) -> SampleDocument:
    """A document; `articles` adds numbered articles so that it runs over several pages."""
    r = random.Random(seed)
    kind = r.choice(["autorizație de construire", "dispoziție", "hotărâre", "certificat de urbanism"])
    who = _person(r)
    where = _address(r)
    year = r.randint(1996, 2025)
    month = r.randint(1, 12)
    day = r.randint(1, 28)
    nr = f"{r.randint(100, 99999)}/{year}"
    when = f"{day} {_MONTHS[month - 1]} {year}"
    title = f"{kind.capitalize()} nr. {nr}"
    paragraphs = [
        "ROMÂNIA",
        "PRIMĂRIA SECTORULUI 4 A MUNICIPIULUI BUCUREȘTI",
        title.upper(),
        *_body(r, kind, who, where, nr, when),
    ]
    for n in range(articles):
        paragraphs.insert(-1, f"Art. {n + 1}. {r.choice(_ARTICLES)}")
    return SampleDocument(
        title=title,
        document_type=kind,
        registration_number=nr,
        issue_date=f"{year:04d}-{month:02d}-{day:02d}",
        paragraphs=tuple(paragraphs),
    )
