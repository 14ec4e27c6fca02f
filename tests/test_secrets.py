"""No error path prints a secret, whatever the user typed: a literal of any JSON type, a
URL with credentials in it, a DSN password libpq misreads — not in the message, not in a
DEBUG log line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from factories import T0, stream
from shoot2top import codec
from shoot2top.config import ConfigError, parse_config
from shoot2top.lake.layout import WriterFolder
from shoot2top.lake.store import LakeError, LocalStore, S3Settings, open_store

BASE = {
    "name": "p",
    "sources": [{"type": "lake", "uri": "in"}],
    "sinks": [{"type": "lake", "uri": "out"}],
}


def sink(**settings):
    return {**BASE, "sinks": [{"type": "lake", "uri": "out", **settings}]}


@pytest.mark.parametrize(
    "config",
    [
        sink(s3={"secret_access_key": 123456789}),
        sink(s3={"access_key_id": 123456789.5}),
        sink(s3={"secret_access_key": [123456789]}),
        sink(s3={"secret_access_key": {"v": 123456789}}),
        sink(s3={"secret_access_key": True, "access_key_id": "123456789"}),
        {**BASE, "sinks": [{"type": "postgres", "dsn": 123456789}]},
        {**BASE, "sinks": [{"type": "postgres", "dsn": "postgresql://u:123456789@h/d"}]},
        {**BASE, "sources": [{"type": "x", "bearer_token": 123456789, "topics": {"a": "b"}}]},
    ],
)
def test_a_literal_secret_of_any_type_is_never_echoed(config):
    with pytest.raises(ConfigError) as raised:
        parse_config(config, "p.json")
    assert "123456789" not in str(raised.value)
    assert "p.json: " in str(raised.value)


@pytest.mark.parametrize(
    "url",
    ["http://AKIAEXAMPLE:s3cr3t@127.0.0.1:8333", "http://s3cr3t@127.0.0.1:8333"],
)
def test_credentials_in_an_endpoint_url_are_refused_unseen(url, monkeypatch):
    monkeypatch.setenv("ENDPOINT", url)
    for endpoint in (url, "${ENDPOINT}"):
        with pytest.raises(ConfigError) as raised:
            parse_config(sink(s3={"endpoint_url": endpoint}), "p.json")
        assert "s3cr3t" not in str(raised.value)
        assert "sinks[0].s3.endpoint_url: holds credentials" in str(raised.value)
    with pytest.raises(LakeError) as raised:
        S3Settings(endpoint_url=url)
    assert "s3cr3t" not in str(raised.value)


@pytest.mark.parametrize("url", ["AKIAEXAMPLE:s3cr3t@127.0.0.1:8333", "s3cr3t@127.0.0.1:8333"])
def test_credentials_in_an_url_without_a_scheme_are_refused_unseen(url):
    """Without "http://", no parser finds a user part in `key:secret@host`: refused as no
    http URL, which must not quote it either."""
    x_source = {"type": "x", "bearer_token": "${T}", "topics": {"a": "b"}, "api_url": url}
    for config, key in (
        (sink(s3={"endpoint_url": url}), "sinks[0].s3.endpoint_url: not an http"),
        ({**BASE, "sources": [x_source]}, "sources[0].api_url: not an http"),
    ):
        with pytest.raises(ConfigError) as raised:
            parse_config(config, "p.json")
        assert "s3cr3t" not in str(raised.value) and key in str(raised.value)
    with pytest.raises(
        LakeError, match=r"S3 endpoint URL \(not shown: .*\) is not an http"
    ) as raised:
        S3Settings(endpoint_url=url)  # `lake ls --endpoint-url …`, $AWS_ENDPOINT_URL
    assert "s3cr3t" not in str(raised.value)


def test_credentials_in_a_lake_uri_are_refused_unseen():
    uri = "s3://AKIAEXAMPLE:s3cr3t@bucket/prefix"
    for config in (sink(uri=uri), {**BASE, "sources": [{"type": "lake", "uri": uri}]}):
        with pytest.raises(ConfigError) as raised:
            parse_config(config, "p.json")
        assert "s3cr3t" not in str(raised.value) and "uri: holds credentials" in str(raised.value)
    with pytest.raises(LakeError) as raised:
        open_store(uri)  # the library refuses it too (lake ls/verify take URIs directly)
    assert "s3cr3t" not in str(raised.value)


def test_an_api_url_with_a_token_in_it_is_refused_unseen():
    config = {
        **BASE,
        "sources": [
            {"type": "x", "bearer_token": "${T}", "topics": {"a": "b"},
             "api_url": "https://user:tok3n@api.example"}
        ],
    }  # fmt: skip
    with pytest.raises(ConfigError) as raised:
        parse_config(config, "p.json")
    assert "tok3n" not in str(raised.value)


@pytest.mark.slow
def test_no_secret_in_debug_logs_on_error_paths(tmp_path):
    """A run that fails on a DSN with a misplaced password, at DEBUG: nothing leaks."""
    config = {
        "name": "leak",
        "state_dir": str(tmp_path / "state"),
        "sources": [{"type": "lake", "uri": str(tmp_path / "lake")}],
        "sinks": [
            {"type": "postgres", "dsn": "${LEAK_DSN}"},
            {"type": "lake", "uri": "s3://b/p",
             "s3": {"access_key_id": "${LEAK_KEY}", "secret_access_key": "${LEAK_SECRET}",
                    "endpoint_url": "http://127.0.0.1:9"}},
        ],
    }  # fmt: skip
    LocalStore(tmp_path / "lake").create(
        WriterFolder.new(T0).name, "0000000", codec.dumps(stream(3))
    )
    path = tmp_path / "leak.json"
    path.write_text(json.dumps(config))
    secrets = {
        "LEAK_DSN": "postgresql://u:pa/ss@w0rd@127.0.0.1:9/db",
        "LEAK_KEY": "AKIALEAKLEAKLEAK",
        "LEAK_SECRET": "leak-secret-value",
    }
    result = subprocess.run(
        [sys.executable, "-m", "shoot2top.cli", "--log-level", "DEBUG", "ingest", "--config",
         str(path), "--quiet"],
        capture_output=True, text=True, timeout=120, env={**os.environ, **secrets},
    )  # fmt: skip
    assert result.returncode == 1
    output = result.stdout + result.stderr
    for piece in ("pa/ss", "ss@w0rd", "w0rd", "AKIALEAKLEAKLEAK", "leak-secret-value"):
        assert piece not in output, piece
    assert "percent-encode" in result.stderr


@pytest.mark.slow
def test_an_unset_secret_names_the_config_file(tmp_path, monkeypatch):
    monkeypatch.delenv("NOT_SET_SECRET", raising=False)
    config = {
        "name": "p",
        "state_dir": str(tmp_path / "state"),
        "sources": [{"type": "lake", "uri": str(tmp_path)}],
        "sinks": [{"type": "postgres", "dsn": "${NOT_SET_SECRET}"}],
    }
    path = tmp_path / "p.json"
    path.write_text(json.dumps(config))
    result = subprocess.run(
        [sys.executable, "-m", "shoot2top.cli", "ingest", "--config", str(path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert f"{path}: sink 'warehouse'.dsn: environment variable NOT_SET_SECRET" in result.stderr
