"""The local S3-compatible object server the dev broker keeps its topics in: the part of the
protocol the broker's object-store engine relies on, spoken over HTTP."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest

from workers.object_store import LocalObjects, ObjectStoreServer

S3 = "{http://s3.amazonaws.com/doc/2006-03-01/}"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ObjectStoreServer]:
    store = ObjectStoreServer(tmp_path / "objects")
    store.start()
    yield store
    store.stop()


def request(
    server: ObjectStoreServer,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    host, port = server.endpoint.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def keys(body: bytes) -> tuple[list[str], list[str], str | None]:
    root = ElementTree.fromstring(body)  # noqa: S314 - our own server's answer
    contents = [e.findtext("Key") or "" for e in root.iter("Contents")]
    prefixes = [e.findtext("Prefix") or "" for e in root.iter("CommonPrefixes")]
    return contents, prefixes, root.findtext("NextContinuationToken")


def test_conditional_writes_serialise_updates(server: ObjectStoreServer) -> None:
    created = request(server, "PUT", "/b/meta.json", b"v1", {"If-None-Match": "*"})
    assert created[0] == 200
    etag = created[1]["ETag"]
    assert request(server, "PUT", "/b/meta.json", b"v1'", {"If-None-Match": "*"})[0] == 412
    updated = request(server, "PUT", "/b/meta.json", b"v2", {"If-Match": etag})
    assert updated[0] == 200
    assert request(server, "PUT", "/b/meta.json", b"lost update", {"If-Match": etag})[0] == 412
    status, headers, body = request(server, "GET", "/b/meta.json")
    assert (status, body, headers["ETag"]) == (200, b"v2", updated[1]["ETag"])
    assert headers["Last-Modified"]
    assert (
        request(server, "GET", "/b/meta.json", headers={"If-None-Match": headers["ETag"]})[0] == 304
    )


def test_missing_objects_ranges_and_deletes(server: ObjectStoreServer) -> None:
    assert request(server, "GET", "/b/nothing")[0] == 404
    assert request(server, "PUT", "/b/k", b"0123456789")[0] == 200
    status, headers, body = request(server, "GET", "/b/k", headers={"Range": "bytes=2-4"})
    assert (status, body, headers["Content-Range"]) == (206, b"234", "bytes 2-4/10")
    assert request(server, "HEAD", "/b/k")[1]["Content-Length"] == "10"
    assert request(server, "DELETE", "/b/k")[0] == 204
    assert request(server, "DELETE", "/b/k")[0] == 204, "deleting twice is fine, as in S3"
    assert request(server, "GET", "/b/k")[0] == 404


def test_listing_with_prefix_delimiter_and_pages(server: ObjectStoreServer) -> None:
    for key in ("t/a/0.batch", "t/a/1.batch", "t/b/0.batch", "t/w.json", "u/x"):
        request(server, "PUT", f"/b/{key}", b"x")
    status, _, body = request(server, "GET", "/b?list-type=2&prefix=t%2Fa%2F")
    assert (status, keys(body)) == (200, (["t/a/0.batch", "t/a/1.batch"], [], None))
    _, _, body = request(server, "GET", "/b?list-type=2&prefix=t%2F&delimiter=%2F")
    assert keys(body)[:2] == (["t/w.json"], ["t/a/", "t/b/"])
    _, _, body = request(server, "GET", "/b?list-type=2&prefix=t%2F&max-keys=2")
    first, _, token = keys(body)
    assert first == ["t/a/0.batch", "t/a/1.batch"]
    assert token is not None
    _, _, body = request(server, "GET", f"/b?list-type=2&prefix=t%2F&continuation-token={token}")
    assert keys(body)[0] == ["t/b/0.batch", "t/w.json"]


def test_bulk_delete(server: ObjectStoreServer) -> None:
    for key in ("g/1", "g/2"):
        request(server, "PUT", f"/b/{key}", b"x")
    xml = f'<Delete xmlns="{S3[1:-1]}"><Object><Key>g/1</Key></Object><Object><Key>g/2</Key>'
    status, _, body = request(server, "POST", "/b?delete", (xml + "</Object></Delete>").encode())
    assert status == 200
    assert b"<Deleted><Key>g/1</Key></Deleted>" in body
    assert request(server, "GET", "/b/g/2")[0] == 404


def test_keys_cannot_leave_the_store(tmp_path: Path, server: ObjectStoreServer) -> None:
    assert request(server, "PUT", "/b/../../escaped", b"x")[0] in (400, 404)
    assert request(server, "PUT", "/b/a/%2E%2E/%2E%2E/escaped", b"x")[0] == 400
    assert not (tmp_path / "escaped").exists()
    objects = LocalObjects(tmp_path / "objects")
    with pytest.raises(ValueError, match="escaped"):
        objects.path("b", "a/../../escaped")


def test_an_interrupted_write_leaves_the_old_object(tmp_path: Path) -> None:
    objects = LocalObjects(tmp_path / "objects")
    objects.write("b", "k", b"complete", None, None)
    # a crash between writing the temporary file and renaming it over the object
    (objects.path("b", "k").with_name("k.partial")).write_bytes(b"half")
    assert objects.read("b", "k")[0] == b"complete"
    assert objects.keys("b", "") == ["k"], "unfinished writes are not listed"


def test_a_client_gone_mid_request_stores_nothing_and_prints_no_traceback(
    server: ObjectStoreServer, capfd: pytest.CaptureFixture[str]
) -> None:
    host, port = server.endpoint.removeprefix("http://").split(":")
    # the broker killed while it sends an object: its connection ends mid-body
    with socket.create_connection((host, int(port)), timeout=10) as torn:
        torn.sendall(b"PUT /b/torn HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        torn.shutdown(socket.SHUT_WR)
        assert torn.recv(1024) == b"", "no answer to a request that never arrived whole"
    # ... or right after sending it, before reading the answer (RST on close)
    with socket.create_connection((host, int(port)), timeout=10) as gone:
        gone.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        gone.sendall(b"PUT /b/whole HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
    assert request(server, "GET", "/b/torn")[0] == 404, "a torn object is never stored"
    assert request(server, "PUT", "/b/after", b"fine")[0] == 200, "the server serves on"
    assert "Traceback" not in capfd.readouterr().err


def test_listings_follow_writes_and_deletes_and_page_by_key(server: ObjectStoreServer) -> None:
    def listed(prefix: str) -> list[str]:
        names: list[str] = []
        token = ""
        while True:
            query = f"/b?list-type=2&prefix={prefix}&max-keys=100"
            _, _, body = request(
                server, "GET", query + (f"&continuation-token={token}" if token else "")
            )
            page, _, next_token = keys(body)
            names += page
            if next_token is None:
                return names
            token = next_token

    for n in range(250):
        request(server, "PUT", f"/b/p/0/{n:05d}.batch", b"x")
    assert listed("p%2F0%2F") == [f"p/0/{n:05d}.batch" for n in range(250)]
    # a listing already read is kept up to date, not read again from the folder
    request(server, "PUT", "/b/p/0/00100.5.batch", b"x")
    request(server, "PUT", "/b/p/0/00300.batch", b"x")
    request(server, "DELETE", "/b/p/0/00007.batch")
    request(server, "PUT", "/b/p/1/00000.batch", b"x")
    after = listed("p%2F0%2F")
    assert len(after) == 251
    assert "p/0/00100.5.batch" in after
    assert "p/0/00300.batch" in after
    assert "p/0/00007.batch" not in after
    assert after == sorted(after)
    assert listed("p%2F") == sorted([*after, "p/1/00000.batch"])
