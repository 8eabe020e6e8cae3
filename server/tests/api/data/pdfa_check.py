"""Checks a PDF against the rules of PDF/A-3 (ISO 19005-3), level B, that apply to Tally's
documents, reading it with outside parsers: `pypdf` for the file, `fontTools` for the font
programs it embeds, `lxml` for its XMP metadata. No full PDF/A validator (veraPDF, a Java
program) can be installed from the package registries these machines reach, so this checks
the rules one by one, each named by its clause:

  6.1.2   the header, and the binary comment after it
  6.1.3   the trailer's file identifier; no encryption; nothing after %%EOF but an EOL
  6.1.7   every stream's Length is its data, with EOLs around it; no external streams, no
          LZW
  6.2.2   an output intent GTS_PDFA1 whose profile is an RGB or grey display/print ICC
          profile (header, size, signature) with N as its channels
  6.2.11  every font drawn with is embedded; a TrueType font is non-symbolic, read through
          WinAnsi or MacRoman, its program has a (3,1) cmap, every code drawn reaches a real
          glyph, and the dictionary's width of each code drawn is the program's within 1
  6.6     XMP metadata, unfiltered: part 3, conformance B; the document information agrees
          with it; every property outside the standard schemas is declared in an extension
          schema
  6.8     each embedded file has F, UF, AFRelationship and a MIME Subtype, and is one of
          the document's associated files (AF)
  6.1.10  no JavaScript, no actions run on opening

    python pdfa_check.py FILE...    # prints each failure; exits 1 if any
    python pdfa_check.py --self-test FILE
        # breaks a conforming FILE one rule at a time (a font not embedded, a width, a code
        # without a glyph, the metadata's part, the output intent, the identifier, …) and
        # exits 1 unless every break is found

`check(data)` returns the failures; einvoice_check.py runs it on every PDF it checks.
"""

import io
import re
import sys

from fontTools.ttLib import TTFont
from lxml import etree
from pypdf import PdfReader
from pypdf.generic import ContentStream, IndirectObject

ALLOWED_FILTERS = {
    "/FlateDecode",
    "/ASCIIHexDecode",
    "/ASCII85Decode",
    "/RunLengthDecode",
    "/CCITTFaxDecode",
    "/DCTDecode",
    "/JBIG2Decode",
    "/JPXDecode",
}

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "pdfaExtension": "http://www.aiim.org/pdfa/ns/extension/",
    "pdfaSchema": "http://www.aiim.org/pdfa/ns/schema#",
    "pdfaProperty": "http://www.aiim.org/pdfa/ns/property#",
}

# The schemas PDF/A predefines (XMP 2004): their properties need no extension schema.
PREDEFINED = {
    NS["dc"],
    NS["pdf"],
    NS["xmp"],
    NS["pdfaid"],
    NS["pdfaExtension"],
    NS["pdfaSchema"],
    NS["pdfaProperty"],
    NS["rdf"],
    NS["x"],
    "http://ns.adobe.com/xap/1.0/mm/",
    "http://ns.adobe.com/xap/1.0/rights/",
    "http://ns.adobe.com/photoshop/1.0/",
    "http://www.w3.org/XML/1998/namespace",
}


def resolve(obj):
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def check_header_and_trailer(data, reader, failures):
    if not re.match(rb"%PDF-1\.[0-7]\r?\n", data):
        failures.append("6.1.2: the file does not start with a %PDF-1.n header line")
    second = data.split(b"\n", 2)[1] if data.count(b"\n") >= 2 else b""
    if not (second.startswith(b"%") and sum(b > 127 for b in second[1:5]) == 4):
        failures.append("6.1.2: no comment of four bytes over 127 after the header")
    trailer = reader.trailer
    ids = trailer.get("/ID")
    if ids is None or len(ids) != 2:
        failures.append("6.1.3: the trailer has no file identifier (ID)")
    if "/Encrypt" in trailer:
        failures.append("6.1.3: the file is encrypted")
    if not re.search(rb"%%EOF(\r\n|\r|\n)?$", data):
        failures.append("6.1.3: something follows %%EOF other than one EOL")


def check_streams(data, reader, failures):
    # Each stream's data is exactly its Length, with an EOL after `stream` and before
    # `endstream`.
    for m in re.finditer(rb">>\s*stream(\r\n|\n)", data):
        start = m.end()
        dictionary = data[data.rfind(b" obj", 0, m.start()) : m.start()]
        length = re.search(rb"/Length (\d+)(?! \d+ R)", dictionary)
        if length is None:
            failures.append(f"6.1.7: the stream at byte {start} has no direct Length")
            continue
        length = int(length.group(1))
        if not re.match(rb"(\r\n|\r|\n)endstream", data[start + length : start + length + 12]):
            failures.append(
                f"6.1.7: the stream at byte {start} is not its Length ({length}) followed by an EOL and endstream"
            )
    for ref in iter_objects(reader):
        obj = resolve(ref)
        if not hasattr(obj, "get_data"):
            continue
        for key in ("/F", "/FFilter", "/FDecodeParms"):
            if key in obj and obj.get("/Type") not in ("/Filespec",):
                failures.append(f"6.1.7: a stream names an external file ({key})")
        filters = obj.get("/Filter")
        if filters is None:
            continue
        names = [str(f) for f in (filters if isinstance(filters, list) else [filters])]
        for f in names:
            if f not in ALLOWED_FILTERS:
                failures.append(f"6.1.7: a stream uses the filter {f}")


def iter_objects(reader):
    """Every indirect object of the file."""
    for gen, objs in reader.xref.items():
        for num in objs:
            try:
                yield reader.get_object(IndirectObject(num, gen, reader))
            except Exception:  # noqa: BLE001 — a free entry
                continue


def check_output_intent(catalog, failures):
    intents = resolve(catalog.get("/OutputIntents"))
    pdfa = [resolve(i) for i in (intents or []) if resolve(i).get("/S") == "/GTS_PDFA1"]
    if len(pdfa) != 1:
        failures.append("6.2.2: not exactly one output intent GTS_PDFA1")
        return
    profile = resolve(pdfa[0].get("/DestOutputProfile"))
    if profile is None:
        failures.append("6.2.2: the output intent has no DestOutputProfile")
        return
    icc = profile.get_data()
    if len(icc) < 128 or int.from_bytes(icc[:4], "big") != len(icc):
        failures.append("6.2.2: the profile's size is not its header's")
    if icc[36:40] != b"acsp":
        failures.append("6.2.2: the profile has no ICC signature")
    if icc[12:16] not in (b"mntr", b"prtr"):
        failures.append(f"6.2.2: the profile's class is {icc[12:16]!r}, not mntr or prtr")
    channels = {b"RGB ": 3, b"GRAY": 1, b"CMYK": 4}.get(icc[16:20])
    if channels is None or profile.get("/N") != channels:
        failures.append(f"6.2.2: the profile's N ({profile.get('/N')}) is not its colour space's {icc[16:20]!r}")
    if icc[8] not in (2, 4):
        failures.append(f"6.2.2: ICC version {icc[8]} (2 or 4 are allowed)")


def codes_drawn(reader, page):
    """Each font resource's name, and the codes the page draws with it."""
    drawn = {}
    content = ContentStream(page.get_contents(), reader)
    font = None
    for operands, operator in content.operations:
        if operator == b"Tf":
            font = str(operands[0])
        elif operator in (b"Tj", b"'", b'"'):
            drawn.setdefault(font, set()).update(bytes(operands[-1].original_bytes))
        elif operator == b"TJ":
            for item in operands[0]:
                if hasattr(item, "original_bytes"):
                    drawn.setdefault(font, set()).update(bytes(item.original_bytes))
    return drawn


def check_fonts(reader, failures):
    for number, page in enumerate(reader.pages, 1):
        fonts = resolve(resolve(page.get("/Resources", {})).get("/Font", {}))
        drawn = codes_drawn(reader, page)
        for name, codes in drawn.items():
            if name not in fonts:
                failures.append(f"page {number}: draws with {name}, which it does not define")
                continue
            check_font(name, resolve(fonts[name]), codes, failures)


def check_font(name, font, codes, failures):
    where = f"font {name} ({font.get('/BaseFont')})"
    descriptor = resolve(font.get("/FontDescriptor"))
    if descriptor is None:
        failures.append(f"6.2.11.4: {where} has no font descriptor: not embedded")
        return
    program = None
    for key in ("/FontFile", "/FontFile2", "/FontFile3"):
        if key in descriptor:
            program = resolve(descriptor[key]).get_data()
    if program is None:
        failures.append(f"6.2.11.4: {where} is not embedded")
        return
    if font.get("/Subtype") != "/TrueType":
        failures.append(f"{where}: a {font.get('/Subtype')} font, which this check does not read")
        return
    tt = TTFont(io.BytesIO(program))
    flags = int(descriptor.get("/Flags", 0))
    if not flags & 32 or flags & 4:
        failures.append(f"6.2.11.6: {where} is not flagged non-symbolic (Flags {flags})")
    encoding = font.get("/Encoding")
    if encoding not in ("/WinAnsiEncoding", "/MacRomanEncoding"):
        failures.append(f"6.2.11.6: {where} is read through {encoding}, not WinAnsi or MacRoman")
        return
    cmap = tt["cmap"].getcmap(3, 1)
    if cmap is None:
        failures.append(f"6.2.11.6: {where}'s program has no (3,1) cmap")
        return
    codec = "cp1252" if encoding == "/WinAnsiEncoding" else "mac_roman"
    first = int(font.get("/FirstChar", 0))
    widths = [float(w) for w in font.get("/Widths", [])]
    if len(widths) != int(font.get("/LastChar", -1)) - first + 1:
        failures.append(f"6.2.11.5: {where}'s Widths do not cover FirstChar to LastChar")
        return
    units = tt["head"].unitsPerEm
    glyph_order = set(tt.getGlyphOrder())
    for code in sorted(codes):
        try:
            char = bytes([code]).decode(codec)
        except UnicodeDecodeError:
            failures.append(f"6.2.11.4: {where} draws code {code}, which {encoding} leaves undefined")
            continue
        glyph = cmap.cmap.get(ord(char))
        if glyph is None or glyph == ".notdef" or glyph not in glyph_order:
            failures.append(f"6.2.11.4: {where} has no glyph for code {code} ({char!r})")
            continue
        if not first <= code < first + len(widths):
            failures.append(f"6.2.11.5: {where} states no width for code {code}")
            continue
        advance = tt["hmtx"][glyph][0] * 1000 / units
        if abs(widths[code - first] - advance) > 1:
            failures.append(
                f"6.2.11.5: {where} says code {code} ({char!r}) is {widths[code - first]} wide; its program says {advance:.1f}"
            )


def check_metadata(reader, catalog, failures):
    stream = resolve(catalog.get("/Metadata"))
    if stream is None:
        failures.append("6.6.2.1: the catalog has no XMP metadata")
        return
    if "/Filter" in stream:
        failures.append("6.6.2.1: the metadata stream is filtered")
    xmp = stream.get_data()
    header = re.search(rb"<\?xpacket begin=[^?]*\?>", xmp)
    if header is None:
        failures.append("6.6.2.1: the metadata has no xpacket header")
    elif b"bytes=" in header.group(0) or b"encoding=" in header.group(0):
        failures.append("6.6.2.1: the xpacket header has bytes or encoding")
    root = etree.fromstring(xmp)
    values = {}
    for desc in root.iter(f"{{{NS['rdf']}}}Description"):
        for prop in desc:
            values.setdefault(prop.tag, prop)
    part = values.get(f"{{{NS['pdfaid']}}}part")
    conformance = values.get(f"{{{NS['pdfaid']}}}conformance")
    if part is None or part.text != "3":
        failures.append("6.6.4: pdfaid:part is not 3")
    if conformance is None or conformance.text != "B":
        failures.append("6.6.4: pdfaid:conformance is not B")
    info = reader.trailer.get("/Info")
    info = resolve(info) if info is not None else {}
    title = values.get(f"{{{NS['dc']}}}title")
    xmp_title = title.findtext(f".//{{{NS['rdf']}}}li") if title is not None else None
    pairs = {
        "/Title": xmp_title,
        "/Producer": values[f"{{{NS['pdf']}}}Producer"].text if f"{{{NS['pdf']}}}Producer" in values else None,
        "/Creator": values[f"{{{NS['xmp']}}}CreatorTool"].text if f"{{{NS['xmp']}}}CreatorTool" in values else None,
        "/Keywords": values[f"{{{NS['pdf']}}}Keywords"].text if f"{{{NS['pdf']}}}Keywords" in values else None,
    }
    for key, xmp_value in pairs.items():
        if key in info and str(info[key]) != (xmp_value or ""):
            failures.append(f"6.6.3: the document information's {key} ({info[key]!r}) is not the XMP's ({xmp_value!r})")
    for key, prop in (("/CreationDate", "CreateDate"), ("/ModDate", "ModifyDate"), ("/Author", None), ("/Subject", None)):
        if key in info and (prop is None or f"{{{NS['xmp']}}}{prop}" not in values):
            failures.append(f"6.6.3: the document information has {key}, which the XMP does not repeat")
    # Properties outside the predefined schemas must be declared.
    declared = {}
    for schema in root.iter(f"{{{NS['pdfaExtension']}}}schemas"):
        for li in schema.iter(f"{{{NS['rdf']}}}li"):
            uri = li.findtext(f"{{{NS['pdfaSchema']}}}namespaceURI")
            if uri:
                names = {n.text for n in li.iter(f"{{{NS['pdfaProperty']}}}name")}
                declared[uri] = names
    for tag in values:
        uri, local = tag[1:].split("}", 1)
        if uri in PREDEFINED:
            continue
        if uri not in declared:
            failures.append(f"6.6.2.3: the property {local} of {uri} has no extension schema")
        elif local not in declared[uri]:
            failures.append(f"6.6.2.3: the extension schema of {uri} does not declare {local}")


def check_embedded_files(catalog, failures):
    names = resolve(resolve(catalog.get("/Names", {})).get("/EmbeddedFiles", {}))
    listed = resolve(names.get("/Names", [])) if names else []
    af = [resolve(x) for x in resolve(catalog.get("/AF", []))]
    for i in range(0, len(listed), 2):
        spec = resolve(listed[i + 1])
        name = listed[i]
        for key in ("/F", "/UF"):
            if key not in spec:
                failures.append(f"6.8: the embedded file {name} has no {key}")
        if "/AFRelationship" not in spec:
            failures.append(f"6.8: the embedded file {name} has no AFRelationship")
        if not any(spec is a or spec == a for a in af):
            failures.append(f"6.8: the embedded file {name} is not one of the document's AF")
        stream = resolve(resolve(spec.get("/EF", {})).get("/F"))
        if stream is None or "/Subtype" not in stream:
            failures.append(f"6.8: the embedded file {name} has no MIME Subtype")


def check_actions(catalog, data, failures):
    if "/AA" in catalog or "/OpenAction" in catalog:
        failures.append("6.1.10: the catalog runs actions")
    if b"/JavaScript" in data or b"/JS " in data:
        failures.append("6.1.10: the file carries JavaScript")


def check(data):
    failures = []
    try:
        reader = PdfReader(io.BytesIO(data), strict=True)
        catalog = reader.trailer["/Root"]
    except Exception as e:  # noqa: BLE001 — the reader's own words are the finding
        return [f"the file cannot be read strictly: {e}"]
    check_header_and_trailer(data, reader, failures)
    check_streams(data, reader, failures)
    check_output_intent(catalog, failures)
    check_fonts(reader, failures)
    check_metadata(reader, catalog, failures)
    check_embedded_files(catalog, failures)
    check_actions(catalog, data, failures)
    return failures


def self_test(data):
    """Each break of a conforming file, and the clause it must be refused under."""
    width = re.search(rb"/Widths \[(\d)", data)
    drawn = re.search(rb"\(([A-Za-z])[^)]*\) Tj", data)
    breaks = [
        ("a font not embedded", b"/FontFile2", b"/FontFileX", "6.2.11.4"),
        ("the wrong PDF/A part", b"<pdfaid:part>3</pdfaid:part>", b"<pdfaid:part>2</pdfaid:part>", "6.6.4"),
        ("no PDF/A output intent", b"/GTS_PDFA1", b"/GTS_PDFX1", "6.2.2"),
        ("a symbolic encoding", b"/Encoding /WinAnsiEncoding", b"/Encoding /MacExpertEncodi", "6.2.11.6"),
        ("a producer the XMP does not repeat", b"/Producer (Tally)", b"/Producer (Tallx)", "6.6.3"),
        ("no file identifier", b"/ID [", b"/XD [", "6.1.3"),
    ]
    if width:
        digit = width.group(1)
        other = b"9" if digit != b"9" else b"1"
        breaks.append(("a width the font does not have", width.group(0), width.group(0)[:-1] + other, "6.2.11.5"))
    if drawn:
        letter = drawn.group(0)
        breaks.append(("a code WinAnsi leaves undefined", letter, b"(\x81" + letter[2:], "6.2.11.4"))
    missed = 0
    if check(data):
        print("self-test: the file to break does not conform to begin with")
        return 1
    for what, old, new, clause in breaks:
        assert len(old) == len(new) and old in data, what
        failures = check(data.replace(old, new, 1))
        found = any(f.startswith(clause) for f in failures)
        print(f"self-test: {what}: {'refused under ' + clause if found else 'NOT FOUND'}")
        missed += not found
    return 1 if missed or len(breaks) < 8 else 0


def main(paths):
    bad = 0
    for path in paths:
        with open(path, "rb") as f:
            failures = check(f.read())
        for failure in failures:
            print(f"  {path}: {failure}")
        print(f"{path}: PDF/A-3B rules {'failed' if failures else 'passed'}")
        bad += bool(failures)
    return 1 if bad or not paths else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--self-test"]:
        with open(sys.argv[2], "rb") as f:
            sys.exit(self_test(f.read()))
    sys.exit(main(sys.argv[1:]))
