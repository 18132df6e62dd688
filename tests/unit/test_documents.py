"""The résumé's text from an upload: sniffed by its bytes, bounded, each failure a typed error
naming the field."""

from __future__ import annotations

import contextlib
import io
import zipfile

import pytest
from fpdf import FPDF

from interview.documents import DocumentError, extract_resume, safe_filename, sniff
from tests.fixtures.documents import (
    RESUME,
    corrupt_pdf,
    resume_docx,
    scanned_pdf,
    text_pdf,
    zip_named_docx,
)

pytestmark = pytest.mark.unit


def refused(data: bytes, **bounds: int) -> DocumentError:
    with pytest.raises(DocumentError) as caught:
        extract_resume(data, **bounds)
    assert caught.value.field == "resume"
    return caught.value


def test_a_text_pdf_gives_its_text_and_page_count() -> None:
    got = extract_resume(text_pdf(pages=2))

    assert (got.kind, got.pages, got.warnings) == ("pdf", 2, [])
    assert "Five years of Go building payment services" in got.text
    assert "Page 2" in got.text


def test_a_docx_gives_its_paragraphs_and_tables() -> None:
    import docx

    document = docx.Document(io.BytesIO(resume_docx()))
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "Kubernetes"
    table.cell(0, 1).text = "3 years"
    buf = io.BytesIO()
    document.save(buf)

    got = extract_resume(buf.getvalue())

    assert got.kind == "docx"
    assert "Five years of Go" in got.text
    assert "Kubernetes | 3 years" in got.text


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("Five years of Go, café\n".encode(), "Five years of Go, café"),
        ("Five years of Go, café\n".encode("cp1252"), "Five years of Go, café"),
        ("Five years of Go, café\n".encode("utf-16"), "Five years of Go, café"),
        (b"\xef\xbb\xbfFive years of Go", "Five years of Go"),
    ],
)
def test_plain_text_is_utf8_with_fallbacks(data: bytes, expected: str) -> None:
    got = extract_resume(data)

    assert (got.kind, got.text, got.pages) == ("txt", expected, None)


def test_the_type_comes_from_the_bytes_not_the_name() -> None:
    assert sniff(text_pdf()) == "pdf"
    assert sniff(resume_docx()) == "docx"
    assert sniff(zip_named_docx()) is None  # a zip, but not a Word document
    assert sniff(b"\x89PNG\r\n\x1a\n" + bytes(64)) is None
    assert sniff(bytes(range(256)) * 4) is None


def test_a_scanned_pdf_with_no_text_layer_is_refused_with_the_reason() -> None:
    error = refused(scanned_pdf())

    assert (error.status, error.code) == (422, "resume_no_text")
    assert error.message == "the PDF has no text layer; upload a text PDF or a DOCX"


def test_a_corrupt_pdf_is_unreadable() -> None:
    assert refused(corrupt_pdf()).code == "resume_unreadable"
    assert refused(text_pdf()[:400]).code == "resume_unreadable"


def test_an_encrypted_pdf_is_refused_as_such() -> None:
    pdf = FPDF()
    pdf.set_encryption(owner_password="owner-secret", user_password="user-secret")
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.cell(0, 10, "Five years of Go")

    assert refused(bytes(pdf.output())).code == "resume_encrypted"


def test_a_pdf_locked_by_an_owner_password_only_is_read() -> None:
    pdf = FPDF()
    pdf.set_encryption(owner_password="owner-secret")
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.cell(0, 10, "Five years of Go")

    assert "Five years of Go" in extract_resume(bytes(pdf.output())).text


def test_a_password_protected_word_file_and_an_old_doc_are_refused_with_reasons() -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)

    assert refused(ole).code == "resume_unsupported_type"
    assert refused(ole + "EncryptedPackage".encode("utf-16-le")).code == "resume_encrypted"


def test_bounds_size_pages_and_characters() -> None:
    big = refused(b"a" * 2001, max_bytes=2000)
    assert (big.status, big.code) == (413, "resume_too_large")

    pages = refused(text_pdf(pages=4), max_pages=3)
    assert (pages.status, pages.code) == (422, "resume_too_many_pages")

    cut = extract_resume(RESUME.encode(), max_chars=40)
    assert len(cut.text) <= 40
    assert cut.warnings == ["the résumé's text was cut at 40 characters"]


def test_a_docx_counts_the_pages_word_saved() -> None:
    source = zipfile.ZipFile(io.BytesIO(resume_docx()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "docProps/app.xml":
                data = data.replace(b"<Pages>1</Pages>", b"<Pages>12</Pages>")
                assert b"<Pages>12</Pages>" in data
            out.writestr(info, data)

    assert refused(buf.getvalue()).code == "resume_too_many_pages"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "resume_empty"),
        (b"   \n", "resume_empty"),
        (zip_named_docx(), "resume_unsupported_type"),
        (b"PK\x03\x04 not really a zip", "resume_unreadable"),
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "resume_unsupported_type"),
        (bytes(range(256)) * 4, "resume_unsupported_type"),
        (b"\n-- \n", "resume_no_text"),
    ],
)
def test_other_uploads_are_refused_with_a_code(data: bytes, code: str) -> None:
    assert refused(data).code == code


def test_the_file_name_is_a_bounded_base_name() -> None:
    assert safe_filename("C:\\Users\\x\\cv.pdf") == "cv.pdf"
    assert safe_filename("../../etc/cv\x00.pdf") == "cv.pdf"
    assert safe_filename("a" * 300 + ".pdf") == "a" * 200
    assert safe_filename("") is None


def test_nothing_of_the_resume_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    for data in (text_pdf(), corrupt_pdf(), resume_docx(), RESUME.encode(), text_pdf()[:600]):
        with contextlib.suppress(DocumentError):
            extract_resume(data)

    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    for words in ("Five years", "alex@example.com", "payment services"):
        assert words not in logged
