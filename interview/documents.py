"""The résumé's text, read from an upload: PDF (pypdf), DOCX (python-docx) or plain text.

The type is sniffed from the bytes, never taken from the file name or the browser's content
type alone: `%PDF-` in the first KiB is a PDF; a zip holding `word/document.xml` is a DOCX (any
other zip is refused); an OLE container is a legacy .doc or a password-protected Word file
(refused, with a reason); bytes that decode as text (UTF-8, UTF-16 with a BOM, else cp1252)
without control characters are plain text; anything else is refused.

Bounded: at most `MAX_RESUME_BYTES` bytes and `MAX_RESUME_PAGES` pages (a DOCX's page count is
the one Word saved in docProps/app.xml, when there is one); the text is cut at
`MAX_RESUME_CHARS` with a warning. Every failure is a `DocumentError` naming the field
(`resume`), with a code the API returns as it is. The text and the file name are personal
data: they are never logged here.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from typing import Literal
from xml.etree import ElementTree

from interview.planning import MAX_RESUME_BYTES, MAX_RESUME_CHARS, MAX_RESUME_PAGES

Kind = Literal["pdf", "docx", "txt"]

# A DOCX whose parts unpack to more than this is refused (a zip bomb reads as a small upload).
MAX_UNPACKED_BYTES = 40 * 1024 * 1024
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_BINARY_MAGIC = (
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
    b"GIF8",
    b"II*\x00",  # TIFF
    b"MM\x00*",
    b"\x1f\x8b",  # gzip
    b"Rar!",
    b"7z\xbc\xaf",
    b"{\\rtf",
)
_APP_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/extended-properties}"


class DocumentError(Exception):
    """An upload that cannot be read; `status`, `code` and `field` go to the API's error body."""

    def __init__(self, status: int, code: str, message: str, *, field: str = "resume") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True)
class ResumeText:
    text: str
    kind: Kind
    pages: int | None
    warnings: list[str] = field(default_factory=list)


def sniff(data: bytes) -> Kind | None:
    """What the bytes are (None: a type we do not read); raises for a refused kind we know."""
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            raise _unreadable("the file looks like a DOCX but its zip is damaged") from None
        if "word/document.xml" in names and "[Content_Types].xml" in names:
            return "docx"
        return None
    if data.startswith(_OLE_MAGIC):
        if _ENCRYPTED_PACKAGE in data:
            raise DocumentError(
                422,
                "resume_encrypted",
                "the Word file is password-protected; upload it without a password",
            )
        raise DocumentError(
            422,
            "resume_unsupported_type",
            "old Word (.doc) files are not read; save it as DOCX or PDF",
        )
    if data.startswith(_BINARY_MAGIC):
        return None
    return "txt" if _decode_text(data) is not None else None


def extract_resume(
    data: bytes,
    *,
    max_bytes: int = MAX_RESUME_BYTES,
    max_pages: int = MAX_RESUME_PAGES,
    max_chars: int = MAX_RESUME_CHARS,
) -> ResumeText:
    """The résumé's text (whitespace tidied, cut at `max_chars`); raises `DocumentError`."""
    if len(data) > max_bytes:
        raise DocumentError(
            413,
            "resume_too_large",
            f"the résumé is over {max_bytes // 1024} KiB; upload a smaller file",
        )
    if not data.strip():
        raise DocumentError(422, "resume_empty", "the résumé file is empty")
    kind = sniff(data)
    if kind is None:
        raise DocumentError(
            422,
            "resume_unsupported_type",
            "the résumé must be a PDF, a DOCX or a plain-text file",
        )
    pages: int | None
    if kind == "pdf":
        raw, pages = _pdf_text(data, max_pages, max_chars)
    elif kind == "docx":
        raw, pages = _docx_text(data, max_pages)
    else:
        raw, pages = _decode_text(data) or "", None
    text = tidy(raw)
    if not any(ch.isalnum() for ch in text):
        if kind == "pdf":
            raise DocumentError(
                422,
                "resume_no_text",
                "the PDF has no text layer; upload a text PDF or a DOCX",
            )
        raise DocumentError(422, "resume_no_text", "the résumé has no text")
    warnings: list[str] = []
    if len(text) > max_chars:
        text = text[:max_chars].rstrip()
        warnings.append(f"the résumé's text was cut at {max_chars} characters")
    return ResumeText(text=text, kind=kind, pages=pages, warnings=warnings)


def tidy(text: str) -> str:
    """Printable text: control characters dropped, runs of spaces and blank lines collapsed."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C").replace(
        "\t", " "
    )
    text = re.sub(r"[ \u00a0]+", " ", text)
    text = re.sub(r" *\n[ \n]*\n", "\n\n", text)
    return "\n".join(line.strip() for line in text.splitlines()).strip()


def safe_filename(name: str | None) -> str | None:
    """The upload's base name, printable and bounded (shown to the team, never logged)."""
    if not name:
        return None
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return base[:200] or None


def _unreadable(message: str) -> DocumentError:
    return DocumentError(422, "resume_unreadable", message)


def _too_many_pages(pages: int, max_pages: int) -> DocumentError:
    return DocumentError(
        422,
        "resume_too_many_pages",
        f"the résumé has {pages} pages; at most {max_pages} are read",
    )


def _decode_text(data: bytes) -> str | None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8-sig", "cp1252"]
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        controls = sum(
            1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f"
        )
        # Binary that happens to decode (cp1252 maps nearly every byte) is full of controls.
        if "\x00" in text or controls > max(2, len(text) // 200):
            return None
        return text
    return None


def _pdf_text(data: bytes, max_pages: int, max_chars: int) -> tuple[str, int]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            # An owner password alone (printing or copying locked) still opens with "".
            try:
                opened = bool(reader.decrypt(""))
            except (DependencyError, NotImplementedError):
                opened = False
            if not opened:
                raise DocumentError(
                    422, "resume_encrypted", "the PDF is password-protected; upload it unlocked"
                )
        pages = len(reader.pages)
        if pages > max_pages:
            raise _too_many_pages(pages, max_pages)
        parts: list[str] = []
        size = 0
        for page in reader.pages:
            part = page.extract_text() or ""
            parts.append(part)
            size += len(part)
            if size > max_chars:  # the rest would be cut anyway
                break
    except DocumentError:
        raise
    except FileNotDecryptedError:
        raise DocumentError(
            422, "resume_encrypted", "the PDF is password-protected; upload it unlocked"
        ) from None
    except Exception:
        # A damaged PDF fails in many ways inside pypdf (its own errors, but also KeyError,
        # TypeError, RecursionError on crafted files); to the caller they are all "unreadable".
        raise _unreadable("the PDF is damaged or could not be read") from None
    if pages == 0:
        raise _unreadable("the PDF has no pages")
    return "\n\n".join(parts), pages


def _docx_text(data: bytes, max_pages: int) -> tuple[str, int | None]:
    import docx

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
                raise _unreadable("the DOCX unpacks to too much data")
            pages = _docx_pages(archive)
        if pages is not None and pages > max_pages:
            raise _too_many_pages(pages, max_pages)
        document = docx.Document(io.BytesIO(data))
        parts = [p.text for p in document.paragraphs]
        for table in document.tables:
            for row in table.rows:
                parts.append(" | ".join(cell.text for cell in row.cells))
    except DocumentError:
        raise
    except Exception:
        # python-docx raises KeyError, ValueError, lxml and zip errors on a damaged package.
        raise _unreadable("the DOCX is damaged or could not be read") from None
    return "\n".join(parts), pages


def _docx_pages(archive: zipfile.ZipFile) -> int | None:
    try:
        raw = archive.read("docProps/app.xml")
    except KeyError:
        return None
    try:
        found = ElementTree.fromstring(raw).find(f"{_APP_NS}Pages")
    except ElementTree.ParseError:
        return None
    if found is None or not (found.text or "").strip().isdigit():
        return None
    return int((found.text or "0").strip())
