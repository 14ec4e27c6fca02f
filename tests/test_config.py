import json
import logging

import pytest

from shoot2top.config import ConfigError, SecretRef, load_config, parse_config

BASE = {
    "name": "replay",
    "sources": [{"type": "lake", "uri": "in"}],
    "sinks": [{"type": "lake", "uri": "out"}],
}


def write(tmp_path, config) -> str:
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(config))
    return str(path)


def with_sink(**settings):
    return {**BASE, "sinks": [{"type": "lake", "uri": "out", **settings}]}


def test_defaults_are_near_real_time(tmp_path):
    config = load_config(write(tmp_path, BASE))
    sink = config.sinks[0]
    assert (sink.batch_age_s, sink.rotation, sink.batch_items) == (1.0, "hour", 1000)
    assert config.sources[0].pace == 0.0


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({**BASE, "colour": "red"}, "colour: unknown key"),
        ({**BASE, "sinkz": []}, "sinkz: unknown key (did you mean 'sinks'?)"),
        (
            with_sink(batch_itmes=5),
            "sinks[0].batch_itmes: unknown key (did you mean 'batch_items'?)",
        ),
        (
            {**BASE, "sinks": [{"type": "postgres", "batch_age": 1}]},  # the member of the union
            "sinks[0].batch_age: unknown key (did you mean 'batch_age_s'?)",
        ),
        (
            {**BASE, "sources": [{"type": "lake", "uri": "s3://b/p", "s3": {"endpoint_ur": "x"}}]},
            "sources[0].s3.endpoint_ur: unknown key (did you mean 'endpoint_url'?)",
        ),
        ({**BASE, "storm": {"max_spout_pendin": 5}}, "(did you mean 'max_spout_pending'?)"),
        ({"name": "x", "sinks": BASE["sinks"]}, "sources: missing key"),
        ({**BASE, "sinks": [{"type": "lake"}]}, "sinks[0].uri: missing key"),
        (
            with_sink(batch_items="5"),
            "sinks[0].batch_items: Input should be a valid integer (got '5')",
        ),
        (
            with_sink(batch_items=0),
            "sinks[0].batch_items: Input should be greater than or equal to 1",
        ),
        (with_sink(rotation="week"), "sinks[0].rotation: Input should be 'hour' or 'day'"),
        ({**BASE, "sinks": [{"type": "kafka", "uri": "x"}]}, "sinks[0]: Input tag 'kafka'"),
        ({**BASE, "sources": []}, "sources: List should have at least 1 item"),
        ({**BASE, "name": "a b"}, "name: String should match pattern"),
        (
            with_sink(s3={"endpoint_url": "localhost:8333"}),  # no scheme: botocore's ValueError
            "sinks[0].s3.endpoint_url: not an http:// or https:// URL",
        ),
        (
            {**BASE, "sources": [{"type": "x", "api_url": "api.x.com"}]},
            "sources[0].api_url: not an http:// or https:// URL",  # it was retried for ever
        ),
        (
            {**BASE, "sources": [{"type": "x", "api_url": "https://api.x.com:4430000"}]},
            "sources[0].api_url: not an http:// or https:// URL",  # no such port
        ),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path, config, message):
    path = write(tmp_path, config)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_an_unknown_key_like_no_known_one_gets_no_guess():
    with pytest.raises(ConfigError) as caught:
        parse_config({**BASE, "colour": "red"}, "pipeline.json")
    assert str(caught.value) == "pipeline.json: colour: unknown key"


def test_unreadable_and_malformed_files_are_named(tmp_path):
    with pytest.raises(ConfigError, match=r"missing\.json: cannot read config"):
        load_config(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match=r"bad\.json: not valid JSON"):
        load_config(bad)


def test_settings_may_reference_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LAKE_OUT", "s3://bucket/prefix")
    config = load_config(
        write(tmp_path, with_sink(uri="${LAKE_OUT}", s3={"region": "${R:-eu-west-1}"}))
    )
    assert config.sinks[0].uri == "s3://bucket/prefix"
    assert config.sinks[0].s3.region == "eu-west-1"


def test_an_unset_variable_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    with pytest.raises(ConfigError, match=r"sinks\[0\].uri: environment variable NOT_SET_ANYWHERE"):
        load_config(write(tmp_path, with_sink(uri="${NOT_SET_ANYWHERE}")))


def test_secrets_are_references_resolved_only_on_use_and_never_shown(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("LAKE_SECRET", "hunter2")
    config = load_config(write(tmp_path, with_sink(s3={"secret_access_key": "${LAKE_SECRET}"})))
    secret = config.sinks[0].s3.secret_access_key
    assert isinstance(secret, SecretRef) and secret.reveal() == "hunter2"
    with caplog.at_level(logging.INFO):
        logging.getLogger("t").info("config %s %r", config, config.redacted())
    assert "hunter2" not in caplog.text and "***" in caplog.text
    assert "hunter2" not in config.model_dump_json()  # what a topology would carry
    assert config.redacted()["sinks"][0]["s3"]["secret_access_key"] == "***"


def test_literal_secrets_are_refused_without_echoing_them(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, with_sink(s3={"secret_access_key": "hunter2"})))
    assert "sinks[0].s3.secret_access_key: secrets must be given as a ${ENV_VAR}" in str(
        caught.value
    )
    assert "hunter2" not in str(caught.value)


def test_a_missing_secret_variable_is_named_on_use(monkeypatch):
    monkeypatch.delenv("NO_SUCH_SECRET", raising=False)
    config = parse_config(with_sink(s3={"access_key_id": "${NO_SUCH_SECRET}"}), "inline")
    with pytest.raises(ConfigError, match="NO_SUCH_SECRET"):
        config.sinks[0].s3.access_key_id.reveal()


def test_example_pipelines_are_valid():
    from pathlib import Path

    examples = sorted(Path(__file__).parents[1].joinpath("pipelines").glob("*.json"))
    assert examples
    for example in examples:
        load_config(example)


def test_component_names_must_be_unique(tmp_path):
    config = {**BASE, "sources": [{"type": "lake", "uri": "a"}, {"type": "lake", "uri": "b"}]}
    with pytest.raises(
        ConfigError, match=r"source names must be unique .*: lake used more than once"
    ):
        load_config(write(tmp_path, config))


def test_times_without_offset_are_utc_and_ranges_are_ordered(tmp_path):
    source = {
        "type": "lake",
        "uri": "in",
        "since": "2026-11-21T00:00:00",
        "until": "2026-11-22T00:00:00",
    }
    config = load_config(write(tmp_path, {**BASE, "sources": [source]}))
    assert config.sources[0].since.isoformat() == "2026-11-21T00:00:00+00:00"
    inverted = {**source, "since": "2026-11-23T00:00:00Z"}
    with pytest.raises(ConfigError, match=r"sources\[0\]: since .* must be before until"):
        load_config(write(tmp_path, {**BASE, "sources": [inverted]}))


def test_a_wrongly_typed_container_is_not_echoed(tmp_path):
    config = {**BASE, "sinks": {"type": "lake", "s3": {"secret_access_key": "hunter2"}}}
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, config))
    assert "sinks: Input should be a valid array (got a JSON object)" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_a_secret_missing_at_build_time_names_the_component_and_key(monkeypatch):
    from shoot2top.runtime.components import build_sink

    monkeypatch.delenv("NO_SUCH_SECRET", raising=False)
    config = parse_config(with_sink(s3={"secret_access_key": "${NO_SUCH_SECRET}"}), "inline")
    with pytest.raises(ConfigError, match=r"sink 'lake'\.s3\.secret_access_key: .*NO_SUCH_SECRET"):
        build_sink(config.sinks[0], ".")
