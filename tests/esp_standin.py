"""A loopback stand-in for an ESP's HTTP API (Postmark's), so anymail's real HTTP code path is exercised.

It answers POST /email like Postmark does, records every message it accepted, and can be told to fail: 5xx,
429 with Retry-After, hang past the client's timeout, or refuse an address as inactive (HTTP 422, code 406).
Optionally it posts a Postmark "Delivery" tracking webhook back to the app for every accepted message.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
import urllib.request
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Fault:
    status: int = 500
    retry_after: float | None = None
    hang_seconds: float = 0.0


@dataclass
class EspStandIn:
    faults: deque[Fault] = field(default_factory=deque)
    inactive: set[str] = field(default_factory=set)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    accepted_at: list[float] = field(default_factory=list)  # time.monotonic() of each, in the same order
    requests: int = 0
    delay_seconds: float = 0.0  # every accepted message takes this long, like a slow ESP
    in_flight: int = 0  # accepted messages whose answer is still being delayed
    most_in_flight: int = 0
    webhook_url: str = ""
    webhook_auth: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def api_url(self) -> str:
        assert self.server is not None
        port = self.server.server_address[1]
        return f"http://127.0.0.1:{port}/"

    def fail_next(self, count: int, **fault: Any) -> None:
        with self.lock:
            self.faults.extend(Fault(**fault) for _ in range(count))

    def accepted_to(self, address: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.accepted if m["To"].lower() == address.lower()]

    def start(self) -> EspStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                standin.handle(self, json.loads(body or b"{}"))

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def handle(self, request: BaseHTTPRequestHandler, payload: dict[str, Any]) -> None:
        with self.lock:
            self.requests += 1
            fault = self.faults.popleft() if self.faults else None
        if fault is not None:
            self._fail(request, fault)
            return
        to = str(payload.get("To", ""))
        if to.lower() in self.inactive:
            message = f"You tried to send to a recipient that has been marked as inactive.\n Found inactive addresses: {to}.\n Inactive recipients are ones that have generated a hard bounce or a spam complaint."  # noqa: E501
            _reply(request, 422, {"ErrorCode": 406, "Message": message})
            return
        if self.delay_seconds:
            with self.lock:
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
            time.sleep(self.delay_seconds)
            with self.lock:
                self.in_flight -= 1
        message_id = str(uuid.uuid4())
        with self.lock:
            self.accepted.append({**payload, "MessageID": message_id})
            self.accepted_at.append(time.monotonic())
        _reply(
            request,
            200,
            {"To": to, "SubmittedAt": "2026-11-24T07:00:00Z", "MessageID": message_id, "ErrorCode": 0, "Message": "OK"},
        )
        if self.webhook_url:
            self._post_delivery_webhook(payload, message_id)

    def _fail(self, request: BaseHTTPRequestHandler, fault: Fault) -> None:
        if fault.hang_seconds:
            time.sleep(fault.hang_seconds)  # the client times out first
        headers = {"Retry-After": str(int(fault.retry_after))} if fault.retry_after is not None else {}
        _reply(request, fault.status, {"ErrorCode": 100, "Message": "Stand-in failure"}, headers)

    def _post_delivery_webhook(self, payload: dict[str, Any], message_id: str) -> None:
        event = {
            "RecordType": "Delivery",
            "MessageID": message_id,
            "Recipient": payload.get("To"),
            "DeliveredAt": "2026-11-24T07:00:01Z",
            "Details": "Test",
            "Tag": "digest",
            "Metadata": payload.get("Metadata", {}),
            "ServerID": 1,
            "MessageStream": "outbound",
        }
        request = urllib.request.Request(
            self.webhook_url,
            data=json.dumps(event).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": "Basic " + base64.b64encode(self.webhook_auth.encode()).decode(),
            },
        )
        # A webhook that cannot be delivered is the ESP's problem, as in real life.
        with contextlib.suppress(OSError):
            urllib.request.urlopen(request, timeout=5).close()


def _reply(
    request: BaseHTTPRequestHandler, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    data = json.dumps(body).encode()
    try:
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up (timeout): what a real server sees too
