"""A fake X API for rechecks: batch compliance jobs (with their signed upload and download URLs served
here too), post lookup by ids, and the search of :class:`~evidence.tests.fakes.x.XFake`.

A job moves ``created`` → (upload) → ``in_progress`` → ``complete`` over ``polls_to_complete``
status polls, as a real one does over minutes; ``end_jobs_with`` makes it ``failed`` or ``expired``
instead. The upload and download URLs refuse a request that carries our bearer token (Cloud Storage
rejects a signed URL with a second credential), so a client leaking it there is caught.
"""

from __future__ import annotations

import contextlib
import copy
import json
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from evidence.tests.fakes import server as fake_server
from evidence.tests.fakes.server import FakeClock, FakeServer, Reply, fixture
from evidence.tests.fakes.x import TOKEN, XFake

JOBS = "/2/compliance/jobs"
LOOKUP = "/2/tweets"
UPLOAD, DOWNLOAD = "/storage/upload/", "/storage/download/"


class MethodAware(FakeServer):
    """A fake that also answers POST and PUT; ``route`` sees the method as ``headers[':method']``,
    the raw query (repeated keys intact) as ``headers[':query']``; request bodies are kept in ``bodies``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bodies: list[tuple[str, str, bytes]] = []
        self._httpd.server_close()  # the GET-only server was never started: serve every method instead
        self._serve_with(_handler_for(self))


def _handler_for(server: MethodAware) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            if body or self.command != "GET":
                server.bodies.append((self.command, url.path, body))
            headers = {k.lower(): v for k, v in self.headers.items()}
            headers.update({":method": self.command, ":query": url.query})
            reply = server.answer(url.path, dict(parse_qsl(url.query, keep_blank_values=True)), headers)
            if reply.delay:
                time.sleep(reply.delay)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(reply.body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(reply.body)

        do_GET = do_POST = do_PUT = _serve

        def date_time_string(self, timestamp: float | None = None) -> str:
            return formatdate(server.clock.time() if timestamp is None else timestamp, usegmt=True)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class XRecheckFake(MethodAware, XFake):
    """X search (from XFake), lookup, and compliance jobs. ``gone`` maps post ids to the reason X
    gives for them (``deleted``, ``protected``, ``suspended``, ...); ``elsewhere`` holds posts that
    lookup returns and search does not (the posts a search's replies answered)."""

    def __init__(
        self, n: int = 25, clock: FakeClock | None = None, polls_to_complete: int = 3, job_delay: float = 0.0
    ) -> None:
        super().__init__(n=n, clock=clock)
        self.gone: dict[str, str] = {}
        self.elsewhere: list[dict[str, Any]] = []  # posts lookup returns that search does not match
        self.jobs: dict[str, dict[str, Any]] = {}
        self.polls_to_complete = polls_to_complete
        self.end_jobs_with = ""  # "failed" or "expired": jobs end so instead of completing
        self.job_delay = job_delay  # real seconds before each job answer (kill-and-resume tests)

    def route(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Reply:
        method = headers.get(":method", "GET")
        if path.startswith((UPLOAD, DOWNLOAD)):
            return self._storage(method, path, headers)
        if path.startswith(JOBS) or path == LOOKUP:
            if headers.get("authorization") != f"Bearer {TOKEN}":
                return Reply.json(401, {"title": "Unauthorized", "type": "about:blank", "status": 401})
            if path == LOOKUP:
                return self._lookup(params)
            reply = self._create() if method == "POST" and path == JOBS else self._status(path.rsplit("/", 1)[1])
            reply.delay = self.job_delay
            return reply
        return super().route(path, params, headers)

    def _job_body(self, job: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = copy.deepcopy(fixture("x", "compliance_job_created")["response"]["body"])
        body["data"].update(
            id=job["id"],
            status=job["status"],
            upload_url=f"{self.base_url}{UPLOAD}{job['id']}?X-Goog-Signature=fake",
            download_url=f"{self.base_url}{DOWNLOAD}{job['id']}?X-Goog-Signature=fake",
        )
        return body

    def _limits(self) -> dict[str, str]:
        return {"x-rate-limit-limit": "150", "x-rate-limit-remaining": "140",
                "x-rate-limit-reset": str(int(self.clock.time()) + 900)}  # fmt: skip

    def _create(self) -> Reply:
        job_id = str(1990000000000000000 + len(self.jobs))
        self.jobs[job_id] = {"id": job_id, "status": "created", "polls": 0, "ids": None}
        return Reply.json(200, self._job_body(self.jobs[job_id]), self._limits())

    def _status(self, job_id: str) -> Reply:
        job = self.jobs.get(job_id)
        if job is None:
            return Reply.json(404, {"title": "Not Found Error", "type": "about:blank", "status": 404})
        if job["ids"] is not None and job["status"] in ("created", "in_progress"):
            job["polls"] += 1
            if job["polls"] >= self.polls_to_complete:
                job["status"] = self.end_jobs_with or "complete"
            else:
                job["status"] = "in_progress"
        return Reply.json(200, self._job_body(job), self._limits())

    def _storage(self, method: str, path: str, headers: dict[str, str]) -> Reply:
        if headers.get("authorization"):
            return Reply(400, b"<Error><Code>InvalidAuthentication</Code></Error>", {"content-type": "text/xml"})
        job = self.jobs.get(path.rsplit("/", 1)[1])
        if job is None:
            return Reply(404, b"<Error><Code>NoSuchKey</Code></Error>", {"content-type": "text/xml"})
        if path.startswith(UPLOAD):
            if method != "PUT" or headers.get("content-type") != "text/plain":
                return Reply(400, b"<Error><Code>BadRequest</Code></Error>", {"content-type": "text/xml"})
            job["ids"] = [line for line in self.bodies[-1][2].decode().splitlines() if line] if self.bodies else []
            return Reply(200, b"", {})
        if job["status"] != "complete":
            return Reply(404, b"<Error><Code>NoSuchKey</Code></Error>", {"content-type": "text/xml"})
        template = json.loads(fixture_lines("compliance_job_results")[0])
        lines = []
        for post_id in job["ids"]:
            if post_id in self.gone:
                lines.append(json.dumps({**template, "id": post_id, "reason": self.gone[post_id]}))
        return Reply(200, "".join(f"{line}\n" for line in lines).encode(), {"content-type": "application/octet-stream"})

    def _lookup(self, params: dict[str, str]) -> Reply:
        asked = [i for i in params.get("ids", "").split(",") if i]
        if not asked or len(asked) > 100:
            return Reply.json(400, {"errors": [{"message": "ids: 1 to 100 ids"}], "title": "Invalid Request"})
        errors_doc = fixture("x", "lookup_partial_errors_200")["response"]["body"]["errors"]
        found = {t["id"]: t for t in [*self.corpus, *self.elsewhere] if isinstance(t, dict) and "id" in t}
        data = [found[i] for i in asked if i in found and i not in self.gone]
        body = self._page(data)
        errors = []
        for post_id in asked:
            if post_id in self.gone or post_id not in found:
                error = copy.deepcopy(errors_doc[0 if self.gone.get(post_id, "deleted") == "deleted" else 1])
                error.update(value=post_id, resource_id=post_id)
                errors.append(error)
        if errors:
            body["errors"] = errors
        return Reply.json(200, body, self._limits())


def fixture_lines(name: str) -> list[str]:
    return (fake_server.DATA / "x" / f"{name}.jsonl").read_text().splitlines()
