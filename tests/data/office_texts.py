"""The Swedish text of the office test documents (written for these tests) and what a careful
reader finds in them: title, organisation, diarienummer, date, headings, sentences, running
header and footer. `tests/data/make_office_documents.py` lays them out the way offices do;
`tests/test_ingest_office.py` measures how faithfully ingest reads them back."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# A paragraph is a string; "[^…]" marks a footnote at that spot. A table is a list of rows.
Paragraph = str
Table = list[list[str]]


@dataclass(frozen=True)
class Section:
    heading: str
    level: int
    content: tuple[Paragraph | Table, ...]


@dataclass(frozen=True)
class Letter:
    name: str
    office: str
    organisation: str
    recipient: str | None
    diarienummer: str
    date: str
    title: str
    handlaggare: str
    footer: tuple[str, ...]
    sections: tuple[Section, ...]
    two_columns: bool = False
    preamble: tuple[Paragraph, ...] = field(default=())


_FOOTNOTE = re.compile(r"\[\^([^\]]+)\]")


def body_text(paragraph: Paragraph) -> str:
    """The paragraph as a reader reads the running text: without its footnotes."""
    return _FOOTNOTE.sub("", paragraph)


def footnotes(paragraph: Paragraph) -> list[str]:
    return _FOOTNOTE.findall(paragraph)


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-ZÅÄÖ0-9])")


def sentences(text: str) -> list[str]:
    """Sentences of running text, split after ". " before a capital (no abbreviation in these
    texts ends a sentence-like run before a capital)."""
    return [s.strip() for s in _SENTENCE.split(" ".join(text.split())) if s.strip()]


def letter_sentences(letter: Letter) -> list[str]:
    found: list[str] = []
    for paragraph in letter.preamble:
        found += sentences(body_text(paragraph))
    for section in letter.sections:
        for item in section.content:
            if isinstance(item, str):
                found += sentences(body_text(item))
    return found


def letter_headings(letter: Letter) -> list[str]:
    return [section.heading for section in letter.sections]


STADSBYGGNAD = Letter(
    name="tjansteutlatande-detaljplan",
    # The kontor writes the tjänsteutlåtande; its nämnd is the one that answers the remiss.
    office="Stadsbyggnadskontoret",
    organisation="Stadsbyggnadsnämnden",
    recipient="Stadsbyggnadsnämnden",
    diarienummer="SBK 2021-04512",
    date="2021-03-15",
    title=(
        "Detaljplan för kvarteret Lärkan i Hammarby sjöstad med nya bostäder, förskola och "
        "en park vid kanalen – svar på remiss"
    ),
    handlaggare="Anna Bergström",
    footer=(
        "Stadsbyggnadskontoret, Planavdelningen, Fleminggatan 4, Box 8314, 104 20 Stockholm. "
        "Telefon 08-508 270 00, växel 08-508 000 00.",
        "stadsbyggnadskontoret@stockholm.se, www.stockholm.se/stadsbyggnad",
    ),
    preamble=(
        "Stadsbyggnadsnämnden godkänner kontorets förslag till svar på remissen och "
        "överlämnar tjänsteutlåtandet till kommunstyrelsen.",
    ),
    sections=(
        Section(
            "1 Sammanfattning",
            1,
            (
                "Kontoret har tagit fram ett förslag till detaljplan för kvarteret Lärkan i "
                "Hammarby sjöstad. Planen möjliggör omkring 320 nya bostäder, en förskola "
                "med sex avdelningar och en allmänt tillgänglig park utmed kanalen. "
                "Förslaget bidrar till stadens mål om en sammanhållen stadsutveckling där "
                "bostäder, service och grönska planeras tillsammans. Kontoret bedömer att "
                "planen är förenlig med översiktsplanen och att den kan genomföras utan "
                "betydande miljöpåverkan.",
                "Under samrådet kom det in 46 yttranden från myndigheter, föreningar och "
                "boende i området. De flesta synpunkterna gällde trafiken på Lugnets allé, "
                "skuggningen av befintliga gårdar och parkens utformning. Kontoret har "
                "bearbetat förslaget med anledning av synpunkterna och redovisar ändringarna "
                "i samrådsredogörelsen[^Samrådsredogörelsen finns i ärendets bilaga 2.].",
            ),
        ),
        Section(
            "2 Bakgrund",
            1,
            (
                "Kvarteret Lärkan används i dag som tillfällig parkering och upplag för "
                "byggmaterial. Marken ägs av staden och är sedan 2019 markanvisad till två "
                "byggherrar som tillsammans ska uppföra både hyresrätter och bostadsrätter. "
                "Exploateringsnämnden beslutade om markanvisningen i juni 2019 och har sedan "
                "dess följt arbetet med planen.",
                "Området omfattas av stadens program för vatten- och avloppsförsörjning, och "
                "den nya bebyggelsen ska anslutas till det befintliga ledningsnätet. Staden "
                "ansvarar för ledningsrättsförrättningen som behövs för att flytta en "
                "huvudledning som i dag korsar kvarteret. Arbetet samordnas med "
                "Stockholm Vatten och Avfall, som också ansvarar för dagvattenhanteringen i "
                "området.",
            ),
        ),
        Section(
            "2.1 Planens syfte och huvuddrag",
            2,
            (
                "Syftet med planen är att pröva lämpligheten av nya bostäder och en förskola "
                "i ett läge med god tillgång till kollektivtrafik. Bebyggelsen utformas som "
                "slutna kvarter i fem till åtta våningar, med lokaler i bottenvåningarna mot "
                "Lugnets allé. Förskolan placeras i kvarterets södra del där den får en egen "
                "gård med sol under större delen av dagen.",
                "Parken vid kanalen blir omkring 4 000 kvadratmeter stor och ska rymma "
                "lekplats, sittplatser och en öppen gräsyta. Kajen görs tillgänglig för "
                "allmänheten hela vägen fram till Danvikskanalen. Den nuvarande gång- och "
                "cykelvägen flyttas närmare vattnet och breddas till fem meter.",
            ),
        ),
        Section(
            "2.2 Förhållandet till översiktsplanen och gällande detaljplaner för "
            "stadsdelen Hammarby sjöstad",
            2,
            (
                "Översiktsplanen anger området som tät stadsbebyggelse där staden vill se en "
                "blandning av bostäder och verksamheter. Planförslaget följer denna "
                "inriktning och ersätter delar av två äldre detaljplaner från 1990-talet. "
                "De äldre planerna medger endast industri och kontor, vilket inte längre "
                "motsvarar områdets behov.",
                [
                    ["Plan", "Antagen", "Laga kraft", "Användning"],
                    ["Dp 1994-07734", "1995", "1995", "Industri"],
                    ["Dp 1998-11290", "1999", "2000", "Industri"],
                    ["Dp 2003-05521", "2004", "2004", "Kontor"],
                ],
            ),
        ),
        Section(
            "3 Kontorets bedömning",
            1,
            (
                "Kontoret bedömer att planförslaget tillför Hammarby sjöstad bostäder och "
                "service som området saknar i dag. Den nya parken ger de boende en "
                "efterfrågad mötesplats och förbättrar kopplingen mellan kvarteren och "
                "vattnet. Kontoret har vägt behovet av nya bostäder mot intresset av att "
                "bevara utsikten från de befintliga husen och funnit att bebyggelsens höjd "
                "är rimlig i förhållande till omgivningen.",
                "Trafiken på Lugnets allé väntas öka med omkring 900 fordon per dygn när "
                "kvarteret är utbyggt. Kontoret bedömer att gatan klarar den ökningen, men "
                "föreslår att hastigheten sänks till 30 kilometer i timmen och att två nya "
                "övergångsställen anläggs vid förskolan. Åtgärderna genomförs av "
                "trafikkontoret inom ramen för stadens trafiksäkerhetsprogram.",
                "Bullret från trafiken ligger under riktvärdena för de flesta lägenheter. För "
                "de lägenheter som vetter mot allén krävs att minst hälften av bostadsrummen "
                "ligger mot en tyst sida, vilket regleras med en planbestämmelse. Kontoret "
                "har i övrigt inget att erinra mot de tekniska utredningar som ligger till "
                "grund för planen[^Bullerutredning av Akustikkonsulten AB, 2020-11-04.].",
            ),
        ),
        Section(
            "3.1 Ekonomiska konsekvenser",
            2,
            (
                "Planen genomförs utan kostnader för stadsbyggnadsnämnden. Exploatörerna "
                "bekostar planarbetet enligt de planavtal som tecknades 2019. Stadens "
                "kostnader för parken och de allmänna gatorna täcks av intäkterna från "
                "försäljningen av marken.",
                "Kontoret föreslår att nämnden skickar ut planen på granskning under våren. "
                "Svar från remissinstanserna ska ha kommit in senast 2021-05-31, och planen "
                "kan därefter antas av kommunfullmäktige under hösten.",
            ),
        ),
    ),
)


DEPARTEMENTET = Letter(
    name="remiss-promemoria-laddinfrastruktur",
    office="Miljö- och energidepartementet",
    organisation="Miljö- och energidepartementet",
    recipient=None,
    diarienummer="M2022/01873",
    date="2022-12-08",
    title="Remiss av promemorian Laddinfrastruktur för tunga fordon längs vägnätet",
    handlaggare="Karin Lindqvist",
    footer=(
        "Regeringskansliet, Miljö- och energidepartementet, 103 33 Stockholm. Besöksadress "
        "Tegelbacken 2. Telefon 08-405 10 00. www.regeringen.se",
    ),
    two_columns=True,
    preamble=(
        "Remissinstanserna ombeds att yttra sig över promemorian. Remissvaren ska ha kommit "
        "in till Miljö- och energidepartementet senast den 31 mars 2023.",
    ),
    sections=(
        Section(
            "Promemorians huvudsakliga innehåll",
            1,
            (
                "I promemorian föreslås att staten ska ge stöd till laddstationer för tunga "
                "fordon längs de viktigaste vägarna för godstransporter. Stödet ska täcka "
                "upp till hälften av investeringen och fördelas av Trafikverket efter "
                "ansökan. Förslaget syftar till att minska utsläppen från vägtrafiken och "
                "bidra till att klimatmålen för transportsektorn nås till år 2030.",
                "Promemorian innehåller också förslag om hur kommuner och regioner kan "
                "samordna planeringen av laddinfrastruktur med den fysiska planeringen. "
                "Länsstyrelserna föreslås få ett uttryckligt ansvar för att samla berörda "
                "aktörer i varje län. Arbetet ska ske i nära samverkan med elnätsföretagen, "
                "som ansvarar för att nätet har kapacitet för de nya anslutningarna.",
            ),
        ),
        Section(
            "Stödets utformning och villkoren för att få stöd",
            1,
            (
                "Stöd får lämnas till den som bygger en laddstation som är öppen för alla "
                "och som kan ladda minst fyra tunga fordon samtidigt. Stationen ska ligga "
                "högst tre kilometer från en väg som ingår i det nationella stamvägnätet. "
                "Den som får stöd ska driva stationen i minst tio år och redovisa hur den "
                "används till Trafikverket varje år.",
                "Trafikverket ska pröva ansökningarna i omgångar och prioritera de stationer "
                "som ger störst nytta för godstransporterna. Vid bedömningen ska verket ta "
                "hänsyn till avståndet till andra stationer, den förväntade efterfrågan och "
                "möjligheten att ansluta stationen till elnätet inom rimlig tid. Ett beslut "
                "om stöd får förenas med villkor om pris och tillgänglighet[^Jfr artikel 36 i "
                "kommissionens förordning (EU) nr 651/2014.].",
                "Stödet ska lämnas inom ramen för det utrymme som riksdagen beslutar för "
                "ändamålet. För perioden 2023–2027 beräknas kostnaden uppgå till omkring 1,5 "
                "miljarder kronor. Hälso- samt miljöeffekterna av minskade utsläpp bedöms "
                "uppväga kostnaderna med god marginal, vilket framgår av den "
                "samhällsekonomiska analysen i promemorian.",
            ),
        ),
        Section(
            "Konsekvenser för kommuner och regioner",
            1,
            (
                "Förslaget innebär inga nya obligatoriska uppgifter för kommunerna. "
                "Kommuner som äger mark i lämpliga lägen kan dock behöva ta ställning till "
                "förfrågningar om markupplåtelse för laddstationer. Regionerna berörs främst "
                "genom sitt ansvar för den regionala transportplaneringen, där "
                "laddinfrastrukturen bör ingå som en del av underlaget.",
                "Härtill kommer att länsstyrelsernas samordnande roll kan ge kommunerna "
                "bättre underlag för den fysiska planeringen. Sveriges Kommuner och Regioner "
                "har framfört att samordningen bör vara frivillig och att kommunernas "
                "planmonopol inte får begränsas. Departementet delar den bedömningen.",
            ),
        ),
        Section(
            "Ikraftträdande",
            1,
            (
                "Förordningen föreslås träda i kraft den 1 juli 2023. De första "
                "ansökningarna kan då prövas under hösten samma år, och de första "
                "stationerna beräknas vara i drift under 2024.",
            ),
        ),
    ),
)


KULTUR = Letter(
    name="strategi-kulturforvaltningen",
    office="Kulturförvaltningen",
    organisation="Kulturförvaltningen",
    recipient=None,
    diarienummer="KUF 2020/118",
    date="2020-06-11",
    title="Strategi för bibliotekens digitala tjänster 2021–2025",
    handlaggare="Per Holmgren",
    footer=("Kulturförvaltningen, Box 16113, 103 22 Stockholm. Telefon 08-508 310 00.",),
    sections=(
        Section(
            "Inledning",
            1,
            (
                "Biblioteken är stadens mest besökta kulturinstitution och möter varje år "
                "flera miljoner besökare. Allt fler av besöken sker i dag digitalt, genom "
                "e-böcker, databaser och tjänster för att låna och reservera medier. Denna "
                "strategi beskriver hur biblioteken ska utveckla sina digitala tjänster under "
                "de kommande fem åren.",
                "Strategin har tagits fram av kulturförvaltningen i dialog med "
                "stadsdelsförvaltningarna, skolorna och användarna. Den utgår från "
                "bibliotekslagen och från stadens program för digitalisering.",
            ),
        ),
        Section(
            "Mål för de digitala tjänsterna",
            1,
            (
                "Alla invånare ska kunna använda bibliotekets digitala tjänster oavsett "
                "förkunskaper och funktionsförmåga. Tjänsterna ska vara enkla att hitta, "
                "fungera i mobilen och följa kraven på tillgänglighet. Biblioteken ska "
                "dessutom erbjuda stöd för den som behöver hjälp att komma i gång.",
                "Utbudet av e-medier ska spegla samma bredd som de tryckta samlingarna. "
                "Biblioteken ska särskilt öka utbudet av e-böcker på andra språk än svenska "
                "och av talböcker för barn och unga. Förvaltningen följer upp utlåningen "
                "varje kvartal och redovisar resultatet till kulturnämnden.",
            ),
        ),
        Section(
            "Digital delaktighet",
            1,
            (
                "Biblioteken ska vara en plats där alla kan få hjälp med digitala frågor, "
                "från att skapa en e-legitimation till att söka information om samhället. "
                "Varje bibliotek ska ha minst en medarbetare med särskilt ansvar för digital "
                "vägledning. Insatserna riktas främst till äldre och till nyanlända.",
                "Förvaltningen ska samarbeta med studieförbunden och med stadens "
                "medborgarkontor för att nå fler. Samarbetet ska formaliseras i "
                "överenskommelser som löper över hela strategiperioden.",
            ),
        ),
        Section(
            "Uppföljning",
            1,
            (
                "Strategin följs upp årligen i kulturnämndens verksamhetsberättelse. En "
                "större utvärdering görs under 2024 inför nästa strategiperiod.",
            ),
        ),
    ),
)


LETTERS = (STADSBYGGNAD, DEPARTEMENTET, KULTUR)

# A short letter that is only a scan (no text layer), and the scanned last page of the
# reportlab document: what OCR must read back.
SCANNED_LETTER = (
    "Kulturförvaltningen",
    "Till Kulturnämnden",
    "Förslag till beslut",
    "Kulturnämnden godkänner förvaltningens förslag till yttrande.",
    "Förvaltningen ställer sig positiv till att biblioteken får utökade öppettider.",
    "Personalen ska få den kompetens som de nya tjänsterna kräver.",
)
SCANNED_LAST_PAGE = (
    "Bilaga 1 Ordlista",
    "E-medier är böcker, tidningar och filmer som lånas digitalt.",
    "Digital vägledning är stöd till den som behöver hjälp med tjänsterna.",
)

# A cp1252 text with soft hyphens (U+00AD, byte 0xAD), as an old Windows export leaves it.
CP1252_LETTER = (
    "Yttrande över förslag till ny avfallsplan\n\n"
    "Miljöförvaltningen har tagit del av förslaget och ställer sig i huvudsak positiv till "
    "det. Förvaltningen vill särskilt stärka arbetet med att förebygga avfall.\n\n"
    "Insamlingen av matav\u00adfall bör byggas ut till alla flerbostadshus före år 2025. "
    "Förvaltningen föreslår att återvinnings\u00adcentralerna får längre öppettider.\n\n"
    "Förvaltningen har i övrigt inget att erinra mot förslaget.\n"
)
CP1252_SENTENCES = sentences(CP1252_LETTER.replace("\u00ad", "").split("\n\n", 1)[1])
