"""The HTTP SMS provider shape, against a real local HTTP server."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from feedback.sms import HttpSmsBackend, PermanentSendError, TransientSendError


@pytest.fixture
def provider():
    seen = []
    status = {"code": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append({"body": body, "auth": self.headers["Authorization"], "key": self.headers["Idempotency-Key"]})
            self.send_response(status["code"])
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"id": "msg-1"}')

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/send", seen, status
    server.shutdown()


def test_it_posts_json_with_a_bearer_token_and_an_idempotency_key(provider, settings):
    url, seen, _ = provider
    settings.SMS_HTTP_URL, settings.SMS_HTTP_TOKEN, settings.SMS_FROM = url, "t0k3n", "Maison"
    assert HttpSmsBackend().send(to="+33612345678", text="Hello", reference="inv-1") == "msg-1"
    assert seen == [
        {
            "body": {"from": "Maison", "to": "+33612345678", "text": "Hello", "reference": "inv-1"},
            "auth": "Bearer t0k3n",
            "key": "inv-1",
        }
    ]


@pytest.mark.parametrize(
    ("code", "error"), [(429, TransientSendError), (503, TransientSendError), (400, PermanentSendError)]
)
def test_provider_errors_are_sorted_into_retry_later_and_give_up(provider, settings, code, error):
    url, _, status = provider
    settings.SMS_HTTP_URL = url
    status["code"] = code
    with pytest.raises(error):
        HttpSmsBackend().send(to="+33612345678", text="Hello", reference="inv-1")


def test_an_unreachable_provider_is_a_temporary_error(settings):
    from tests.feedback.smtp_sink import free_port

    settings.SMS_HTTP_URL = f"http://127.0.0.1:{free_port()}/send"
    with pytest.raises(TransientSendError):
        HttpSmsBackend().send(to="+33612345678", text="Hello", reference="inv-1")
