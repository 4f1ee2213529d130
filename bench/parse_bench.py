"""Import, read and check only: a channel file through ``_parsed_batches`` (the importer's reader and row
checker), with nothing written, to time the "read, parse, normalize" part of an import on its own.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/<any migrated database> \\
        .venv/bin/python -m bench.parse_bench bench/out/channel_1000000_200000_7.csv [--profile]

The database is only read (the stores' time zones and countries). Prints rows, rejects, seconds and the
peak memory of the process (every checked row is kept, as an import window of 50 batches keeps them).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import resource
import sys
import time
from types import SimpleNamespace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--profile", action="store_true", help="print the 25 costliest functions (cProfile)")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from profiles.channel_files import ChannelFile, inspect
    from profiles.imports import _parsed_batches
    from profiles.models import Source

    job = SimpleNamespace(source=Source(name="bench", kind="web"), lines_done=0, rows=0)
    facts = inspect(args.file)
    gc.disable()  # as the importer does while it reads

    def read() -> list:
        with ChannelFile(args.file, facts) as channel_file:
            return list(_parsed_batches(channel_file, job, size=20000))

    started = time.perf_counter()
    if args.profile:
        profile = cProfile.Profile()
        batches = profile.runcall(read)
    else:
        batches = read()
    seconds = time.perf_counter() - started
    rows = sum(len(batch.rows) for batch in batches)
    rejects = sum(len(batch.rejects) for batch in batches)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"rows={rows:,} rejects={rejects:,} {seconds:.2f}s peak memory {peak:,.0f} MB")
    if args.profile:
        pstats.Stats(profile, stream=sys.stdout).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
