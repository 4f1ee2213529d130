"""Reading channel files: encoding, format, header checks, and records with their line numbers.

Everything that makes a file as a whole unreadable raises ``FileProblem`` with one sentence for the
person who sent it, before anything is written. Row-level problems are the row checker's business.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from profiles.events import CSV_COLUMNS, IDENTIFIER_COLUMNS, MAX_PROPERTIES

CHUNK = 1 << 20
csv.field_size_limit(16 * 1024 * 1024)  # oversized cells become rejected rows, not a broken reader


def _latin1_fallback(error: UnicodeError):
    # cp1252 leaves five bytes undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D); latin-1 reads them as controls.
    if isinstance(error, UnicodeDecodeError):
        return error.object[error.start : error.end].decode("latin-1"), error.end
    raise error


codecs.register_error("cp1252-latin1", _latin1_fallback)


class FileProblem(ValueError):
    """The file as a whole cannot be imported; nothing was written."""


@dataclass(frozen=True)
class FileFacts:
    checksum: str
    size: int
    encoding: str
    format: str


def inspect(path: str | Path, fmt: str = "auto") -> FileFacts:
    """One pass over the bytes: SHA-256, size, and whether it is UTF-8 (else cp1252/latin-1)."""
    path = Path(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise FileProblem(f"cannot open {path.name}: {exc.strerror or exc}") from None
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    size = 0
    head = b""
    with handle:
        while chunk := handle.read(CHUNK):
            if not head:
                head = chunk[:65536]
            digest.update(chunk)
            size += len(chunk)
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    if head.startswith(b"PK\x03\x04"):
        raise FileProblem("this is a spreadsheet or archive, not CSV: save it as CSV (UTF-8) and import that")
    if b"\x00" in head:
        raise FileProblem("this is not a text file: export the data as CSV or JSONL")
    body = head.removeprefix(codecs.BOM_UTF8).strip()
    if not body:
        raise FileProblem("the file is empty")
    encoding = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else ("utf-8" if utf8 else "cp1252")
    if fmt == "auto":
        suffix = path.suffix.lower()
        if suffix in {".jsonl", ".ndjson", ".json"}:
            fmt = "jsonl"
        elif suffix in {".csv", ".txt", ".tsv"}:
            fmt = "csv"
        else:
            fmt = "jsonl" if body.startswith(b"{") else "csv"
    if fmt not in {"csv", "jsonl"}:
        raise FileProblem(f"unknown format {fmt!r}: use csv or jsonl")
    return FileFacts(checksum=digest.hexdigest(), size=size, encoding=encoding, format=fmt)


@dataclass
class Record:
    line: int  # the line where the record starts (the header is line 1)
    end_line: int  # the line where it ends (quoted newlines make records span lines)
    payload: object  # list of cells (CSV) or the decoded message (JSONL)
    problem: str = ""  # set when the record could not even be decoded


class ChannelFile:
    """An open channel file, checked at the file level, yielding records after a resume point."""

    def __init__(self, path: str | Path, facts: FileFacts):
        self.path = Path(path)
        self.facts = facts
        self.header: list[str] = []
        self._handle = self.path.open(
            encoding=facts.encoding, errors="cp1252-latin1" if facts.encoding == "cp1252" else "strict", newline=""
        )
        self.bytes_read = 0
        if facts.format == "csv":
            self._start_csv()

    def close(self) -> None:
        self._handle.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def position(self) -> int:
        """Bytes consumed so far (the reader runs a little ahead of the rows handed out)."""
        try:
            return self._handle.buffer.tell()
        except (OSError, ValueError):
            return 0

    def _start_csv(self) -> None:
        first = self._handle.readline()
        self._header_lines = 1
        while first and not first.strip():
            first = self._handle.readline()
            self._header_lines += 1
        sample = first.rstrip("\r\n")
        delimiter = max([",", ";", "\t", "|"], key=sample.count)
        if not sample.count(delimiter):
            delimiter = ","
        self.delimiter = delimiter
        self.header = next(csv.reader([sample], delimiter=delimiter), [])
        self._reader = csv.reader(self._handle, delimiter=delimiter, strict=False)
        names = {name.strip().lower() for name in self.header}
        if not names & set(CSV_COLUMNS):
            raise FileProblem(
                "no header row: the first line must name the columns (event_id, occurred_at, event, email, …)"
            )
        if not names & set(IDENTIFIER_COLUMNS):
            raise FileProblem(f"no identifier column: the header needs at least one of {', '.join(IDENTIFIER_COLUMNS)}")

    def records(self, *, after_line: int = 0) -> Iterator[Record]:
        """Records whose last line is after ``after_line`` (the resume point of an interrupted job)."""
        if self.facts.format == "csv":
            for line, end_line, cells, problem in self.csv_records(after_line=after_line):
                yield Record(line=line, end_line=end_line, payload=cells, problem=problem)
        else:
            yield from self._jsonl_records(after_line)

    def csv_records(self, *, after_line: int = 0) -> Iterator[tuple[int, int, list[str], str]]:
        """The CSV records as ``records`` has them, as plain (line, end line, cells, problem) tuples (the
        importer reads millions)."""
        reader = self._reader
        # line_num counts lines read by this reader; the header line was read before it. A record starts on
        # the line after the end of the one before it (or of whatever the reader skipped or could not read).
        offset = self._header_lines
        end = reader.line_num + offset
        while True:
            try:
                for cells in reader:
                    start, end = end + 1, reader.line_num + offset
                    if end <= after_line or not cells or (len(cells) == 1 and not cells[0].strip()):
                        continue
                    yield start, end, cells, ""
                return
            except csv.Error as exc:
                start, end = end + 1, reader.line_num + offset
                if end > after_line:
                    yield start, end, [], f"unreadable CSV: {exc}"

    def raw_texts(self, lines: set[int]) -> dict[int, str]:
        """The raw text of the records starting on these lines, read again from a new handle on the file
        (the importer keeps no copy of its rows' cells for the rare row rejected after checking)."""
        found: dict[int, str] = {}
        if not lines:
            return found
        last = max(lines)
        with ChannelFile(self.path, self.facts) as again:
            for record in again.records(after_line=min(lines) - 1):
                if record.line in lines:
                    found[record.line] = raw_text(record)
                if record.line >= last:
                    break
        return found

    def _jsonl_records(self, after_line: int) -> Iterator[Record]:
        line = 0
        first = True
        for text in self._handle:
            line += 1
            if not text.strip():
                continue
            if first:
                first = False
                # The first message decides whether this is JSONL at all (a CSV sent as JSONL fails as a file).
                try:
                    probe = json.loads(text) if len(text) <= MAX_PROPERTIES else {}
                except ValueError:
                    probe = None
                if not isinstance(probe, dict):
                    raise FileProblem("not JSONL: each line must be one JSON object (a Segment message)")
            if line <= after_line:
                continue
            if len(text) > MAX_PROPERTIES:
                yield Record(line=line, end_line=line, payload=text, problem="oversized message: larger than 32 KB")
                continue
            try:
                message = json.loads(text)
            except ValueError:
                yield Record(line=line, end_line=line, payload=text, problem="not valid JSON")
                continue
            yield Record(line=line, end_line=line, payload=message)


def raw_text(record: Record) -> str:
    """The record as it was written, for the rejected-rows list and its CSV download."""
    return payload_text(record.payload)


def payload_text(payload) -> str:
    """``raw_text`` of a record with this payload."""
    if isinstance(payload, list):
        return ",".join(_quote(cell) for cell in payload)[:10000]
    if isinstance(payload, str):
        return payload.rstrip("\r\n")[:10000]
    return json.dumps(payload, ensure_ascii=False, default=str)[:10000]


def _quote(cell: str) -> str:
    if any(ch in cell for ch in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell
