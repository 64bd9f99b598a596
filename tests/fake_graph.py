"""A local stand-in for the part of Facebook's Graph API that services/facebook.py uses.

A real HTTP server (stdlib ``ThreadingHTTPServer`` on 127.0.0.1, a free port, one daemon
thread) with one page whose posts the test appends to (newest last appended, served
newest first, as Graph does):

* ``GET /v21.0/{page_id}?fields=id,name&access_token=…`` → ``{"id", "name"}``; the page
  is also found by its username;
* ``GET /v21.0/{page_id}/posts?fields=…&limit=N[&after=CURSOR]&access_token=…`` →
  ``{"data": [...], "paging": {"cursors": {"before", "after"}, "next": absolute URL}}``
  (``next`` only while more posts follow; the cursor is the offset, base64-encoded);
* a wrong token → HTTP 400 ``{"error": {"type": "OAuthException", "code": 190, …}}``,
  an unknown page → HTTP 400 ``{"error": {"type": "GraphMethodException", "code": 100}}``.

:meth:`FakeGraph.down` closes the listening socket (connection refused) and
:meth:`FakeGraph.up` opens it again on the same port; ``fail_with = 500`` answers
HTTP 500 instead. :attr:`FakeGraph.calls` records each request's path and query.
"""

from __future__ import annotations

import base64
import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

VERSION = "/v21.0"


class FakeGraph:
    def __init__(self, page_id: str = "104857600123", username: str = "domaine.vernette",
                 name: str = "Domaine de la Vernette", token: str = "EAAG-page-token-0123456789abcdef") -> None:
        self.page_id, self.username, self.name, self.token = page_id, username, name, token
        self.posts: list[dict] = []  #: oldest first; served newest first
        self.calls: list[tuple[str, dict[str, list[str]]]] = []
        self.fail_with: int | None = None  #: an HTTP status to answer every request with
        self.fail_after: int | None = None  #: answer that many requests, then fail_with (500) the others
        self.extra_next: str | None = None  #: a paging.next to send instead of ours
        self.raw_answer: tuple[int, bytes] | None = None  #: (status, body) sent as is, e.g. not JSON
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- test helpers

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{VERSION}"

    def add_post(self, message: str | None = None, *, when: datetime | None = None, picture: str | None = None,
                 post_id: str | None = None) -> dict:
        number = len(self.posts) + 1
        when = when or datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc) + timedelta(days=number)
        post = {"id": post_id or f"{self.page_id}_{900000 + number}",
                "created_time": when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000"),
                "permalink_url": f"https://www.facebook.com/{self.username}/posts/{900000 + number}"}
        if message is not None:
            post["message"] = message
        if picture is not None:
            post["full_picture"] = picture
        self.posts.append(post)
        return post

    def start(self) -> FakeGraph:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def down(self) -> None:
        """Close the socket: connections are refused until :meth:`up`."""
        self.stop()

    def up(self) -> None:
        self.start()

    # -- the API

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, dict]:
        self.calls.append((path, query))
        if self.fail_with is not None or (self.fail_after is not None and len(self.calls) > self.fail_after):
            return self.fail_with or 500, {"error": {"message": "An unexpected error has occurred.", "type": "OAuthException",
                                              "code": 2, "is_transient": True, "fbtrace_id": "Afake"}}
        if not path.startswith(VERSION + "/"):
            return 404, {"error": {"message": "Unknown path components", "type": "OAuthException", "code": 2500}}
        parts = path[len(VERSION) + 1:].split("/")
        if parts[0] not in (self.page_id, self.username):
            return 400, {"error": {"message": f"Unsupported get request. Object with ID '{parts[0]}' does not exist",
                                   "type": "GraphMethodException", "code": 100, "error_subcode": 33,
                                   "fbtrace_id": "Afake"}}
        if query.get("access_token", [""])[0] != self.token:
            return 400, {"error": {"message": "Invalid OAuth access token - Cannot parse access token",
                                   "type": "OAuthException", "code": 190, "fbtrace_id": "Afake"}}
        if len(parts) == 1:
            return 200, {"id": self.page_id, "name": self.name}
        if parts[1:] != ["posts"]:
            return 400, {"error": {"message": "Unknown edge", "type": "OAuthException", "code": 2500}}
        limit = min(int(query.get("limit", ["25"])[0]), 100)
        start = int(base64.b64decode(query["after"][0]).decode()) if "after" in query else 0
        newest_first = list(reversed(self.posts))
        chunk = newest_first[start:start + limit]
        fields = query.get("fields", ["id"])[0].split(",")
        body: dict = {"data": [{k: v for k, v in post.items() if k in fields} for post in chunk]}
        if chunk:
            cursor = lambda n: base64.b64encode(str(n).encode()).decode()  # noqa: E731
            body["paging"] = {"cursors": {"before": cursor(start), "after": cursor(start + len(chunk))}}
            if start + len(chunk) < len(newest_first):
                following = {"access_token": self.token, "fields": ",".join(fields), "limit": str(limit),
                             "after": cursor(start + len(chunk))}
                body["paging"]["next"] = self.extra_next or f"{self.base_url}/{self.page_id}/posts?{urlencode(following)}"
        return 200, body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        graph = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 — http.server's name
                parts = urlsplit(self.path)
                status, body = graph.answer(parts.path, parse_qs(parts.query))
                data = json.dumps(body).encode()
                if graph.raw_answer is not None:
                    status, data = graph.raw_answer
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 — quiet
                pass

        return Handler
