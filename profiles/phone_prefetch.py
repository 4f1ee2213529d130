"""The phone numbers of a big channel CSV, checked ahead of the importer in a second process.

Checking a phone number (``phonenumbers``: parse, then validate against its country's patterns) is the
costliest check of a row: ~180k distinct numbers take ~3.5 s of a 1M-row file, on one core, while the
database waits for the parsed rows and the machine's other core has nothing to do. So a big file gets a
helper process that reads it too, checks each distinct number written in plain international form ("+33 6
74 57 28 91": a plus, digits, spaces, hyphens; the only spelling whose answer depends on nothing but its
digits, see ``normalize``) and streams the valid ones back as ``digits<TAB>E.164`` lines. The importer adds
them to its per-job memo of numbers by digits between batches.

The helper only speeds things up: a number it has not sent yet, an invalid one (never sent) and every other
spelling are checked by the importer itself, exactly as without it, so the rows, their reasons and the
outcome are the same whether it runs, lags, dies or is never started.

    python -m profiles.phone_prefetch FILE ENCODING DELIMITER COLUMN
"""

from __future__ import annotations

import contextlib
import csv
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from profiles.normalize import InvalidIdentifier, normalize_phone, plain_international

MIN_BYTES = 16 * 1024 * 1024  # ~80k rows: below this the helper's start-up (~0.3 s) is not paid back
CHUNK = 2000  # numbers per write


class PhonePrefetch:
    """The helper process for one file, read from without ever blocking the importer."""

    def __init__(self, path: str | Path, *, encoding: str, delimiter: str, column: int):
        self._process = subprocess.Popen(  # noqa: S603 - our own module, arguments from the checked file
            [sys.executable, "-m", __name__, str(path), encoding, delimiter, str(column)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._fd = self._process.stdout.fileno()
        os.set_blocking(self._fd, False)
        self._partial = b""
        self.done = False

    def collect(self, phones: dict[str, str]) -> int:
        """Add the numbers that arrived since the last call to ``phones``; returns how many were new."""
        added = 0
        while not self.done:
            try:
                data = os.read(self._fd, 1 << 20)
            except BlockingIOError:
                break
            if not data:
                self.done = True
                break
            lines = (self._partial + data).split(b"\n")
            self._partial = lines.pop()
            for line in lines:
                digits, _, value = line.decode().partition("\t")
                if value and digits not in phones:
                    phones[digits] = value
                    added += 1
        return added

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        self._process.stdout.close()


def start(path: str | Path, *, encoding: str, size: int, delimiter: str, header: list[str]) -> PhonePrefetch | None:
    """A helper for this CSV file if it is big enough and has a phone column (and ``IMPORT_PHONE_PREFETCH``
    allows helpers); None otherwise."""
    names = [name.strip().lower() for name in header]
    if not getattr(settings, "IMPORT_PHONE_PREFETCH", True):
        return None
    if size < MIN_BYTES or "phone" not in names or encoding not in {"utf-8", "utf-8-sig"}:
        return None
    try:
        return PhonePrefetch(path, encoding=encoding, delimiter=delimiter, column=names.index("phone"))
    except OSError:
        return None  # no process to spare: the importer checks every number itself, as it always can


def main(argv: list[str]) -> None:
    path, encoding, delimiter, column = argv[0], argv[1], argv[2], int(argv[3])
    seen: set[str] = set()
    found: list[str] = []
    with open(path, encoding=encoding, newline="") as handle, open(sys.stdout.fileno(), "w", closefd=False) as out:
        reader = csv.reader(handle, delimiter=delimiter, strict=False)
        while True:
            try:
                for cells in reader:
                    digits = plain_international(cells[column]) if len(cells) > column else None
                    if digits is None or digits in seen:
                        continue
                    seen.add(digits)
                    try:
                        found.append(f"{digits}\t{normalize_phone(cells[column])}\n")
                    except InvalidIdentifier:
                        continue
                    if len(found) >= CHUNK:
                        out.write("".join(found))
                        out.flush()
                        found.clear()
                break
            except csv.Error:
                continue  # a record the importer will reject; read on
        out.write("".join(found))


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError, KeyboardInterrupt):  # the importer finished or stopped first
        main(sys.argv[1:])
