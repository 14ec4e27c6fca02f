import re

import pytest

from shoot2top.lake.store import (
    FileExists,
    LakeError,
    LocalStore,
    S3Settings,
    open_store,
    parse_uri,
)


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "lake")
    server = request.getfixturevalue("s3_server")
    uri = request.getfixturevalue("s3_uri")
    return open_store(uri, S3Settings(endpoint_url=server.endpoint))


def test_create_list_read(store):
    assert store.is_empty()
    store.create("2026-11-20T10:00:00-a", "0000001", b"[2]")
    store.create("2026-11-20T10:00:00-a", "0000000", b"[1]")
    store.create("2026-11-20T11:00:00-b", "0000000", b"[]")
    assert store.list_folders() == ["2026-11-20T10:00:00-a", "2026-11-20T11:00:00-b"]
    assert not store.is_empty()
    files = store.list_files("2026-11-20T10:00:00-a")
    assert [(f.name, f.size) for f in files] == [("0000000", 3), ("0000001", 3)]
    assert store.read("2026-11-20T10:00:00-a", "0000001") == b"[2]"


def test_a_file_is_never_overwritten(store):
    store.create("f", "0000000", b"[1]")
    with pytest.raises(FileExists, match="0000000 already exists"):
        store.create("f", "0000000", b"[2]")
    assert store.read("f", "0000000") == b"[1]"


def test_reading_a_missing_file_names_it(store):
    with pytest.raises(LakeError, match="f/0000009"):
        store.read("f", "0000009")


@pytest.mark.slow
def test_s3_listing_pages_through_more_than_1000_keys(s3_server, s3_uri):
    store = open_store(s3_uri, S3Settings(endpoint_url=s3_server.endpoint))
    client = s3_server.client()
    bucket, _, prefix = s3_uri.removeprefix("s3://").partition("/")
    for number in range(1005):
        client.put_object(Bucket=bucket, Key=f"{prefix}/w/{number:07d}", Body=b"[]")
    assert len(store.list_files("w")) == 1005


def test_local_writes_leave_no_temp_file(tmp_path):
    store = LocalStore(tmp_path)
    store.create("f", "0000000", b"[]")
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == ["0000000"]


def test_an_unreachable_s3_server_gives_a_clear_error():
    store = open_store(
        "s3://bucket/p",
        S3Settings(endpoint_url="http://127.0.0.1:9", max_attempts=1, connect_timeout_s=1),
    )
    with pytest.raises(LakeError, match="S3 list_objects_v2 s3://bucket/p/ failed"):
        store.list_folders()


@pytest.mark.parametrize(
    "endpoint",
    ["localhost:8333", "127.0.0.1:8333", "ftp://host", "http://", "http://host:99999",
     "http://host:port", "http://[::1"],
)  # fmt: skip
def test_an_endpoint_that_is_no_http_url_is_named(endpoint):
    """`--endpoint-url localhost:8333` (no scheme) was botocore's "unexpected ValueError"."""
    with pytest.raises(LakeError, match=re.escape(f"S3 endpoint URL '{endpoint}' is not an http")):
        S3Settings(endpoint_url=endpoint)
    for good in ("https://s3.example.com", "http://[::1]:8333/", "http://127.0.0.1:8333/p"):
        assert S3Settings(endpoint_url=good).endpoint_url == good


@pytest.mark.parametrize(
    ("uri", "parsed"),
    [
        ("s3://b/p/q", ("s3", "b", "p/q")),
        ("/data/lake", ("file", "/data/lake", "")),
        ("file:///x", ("file", "/x", "")),
    ],
)
def test_uris(uri, parsed):
    assert parse_uri(uri) == parsed


@pytest.mark.parametrize("uri", ["s3:///nobucket", "gs://bucket/x"])
def test_bad_uris_are_named(uri):
    with pytest.raises(LakeError, match="lake URI"):
        parse_uri(uri)


def test_a_missing_local_root_is_an_error_for_readers(tmp_path):
    with pytest.raises(LakeError, match=r"lake root .*nowhere does not exist"):
        LocalStore(tmp_path / "nowhere").list_folders()
