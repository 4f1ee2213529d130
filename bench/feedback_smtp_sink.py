"""A counting SMTP sink in its own process (so it does not share the sender's GIL).

Usage: python bench/feedback_smtp_sink.py PORT OUTFILE   (SIGTERM writes the counts as JSON to OUTFILE)
"""

import json
import re
import signal
import sys
import threading
from collections import Counter

from aiosmtpd.controller import Controller

INVITATION = re.compile(rb"^X-Invitation: *(\S+)", re.MULTILINE | re.IGNORECASE)


class Handler:
    def __init__(self):
        self.received = Counter()

    async def handle_DATA(self, server, session, envelope):
        match = INVITATION.search(envelope.content)
        self.received[match.group(1).decode() if match else "?"] += 1
        return "250 OK"


def main() -> None:
    port, outfile = int(sys.argv[1]), sys.argv[2]
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print("ready", flush=True)
    done.wait()
    controller.stop()
    with open(outfile, "w") as out:
        json.dump(handler.received, out)


if __name__ == "__main__":
    main()
