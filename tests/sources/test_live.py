import logging
import time
from types import SimpleNamespace

import pytest

from fakes.clock import FakeClock
from shoot2top import codec, posts
from shoot2top.config import (
    FacebookSourceConfig,
    TrackingOptions,
    XSourceConfig,
    YouTubeSourceConfig,
)
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.runtime.delivery import TrackedSource
from shoot2top.runtime.pipeline import Pipeline
from shoot2top.sinks.base import Sink
from shoot2top.sources.facebook import FacebookSource
from shoot2top.sources.live import (
    STATE_VERSION,
    Backoff,
    LiveSource,
    ScrubLogs,
    mask_parameters,
    scrub,
)
from shoot2top.sources.x import XSource
from shoot2top.sources.youtube import YouTubeSource


class Idle(LiveSource):
    def __init__(self, name, *, secret="", **options):
        config = SimpleNamespace(name=name, tracking=TrackingOptions())
        super().__init__(config, secret=secret, **options)

    def __iter__(self):
        yield from self.wait(1.0)


def test_x_documented_schedules():
    network = Backoff.linear(0.25, 0.25, 16)
    assert [network.next_delay() for _ in range(3)] == [0.25, 0.5, 0.75]
    assert [network.next_delay() for _ in range(100)][-1] == 16
    http = Backoff.exponential(5, 320)
    assert [http.next_delay() for _ in range(8)] == [5, 10, 20, 40, 80, 160, 320, 320]
    http.reset()
    assert http.next_delay() == 5


def test_backoff_rejects_nonsense():
    with pytest.raises(ValueError, match="first"):
        Backoff.exponential(0, 10)


def test_a_waiting_source_never_sleeps_it_says_how_long_nothing_comes():
    clock = FakeClock()
    source = Idle("idle", clock=clock)
    stream = iter(source)
    assert next(stream) is None and source.idle_s() == 1.0
    assert next(stream) is None and source.idle_s() == 1.0  # asked again at once: no time
    assert clock.sleeps == []  # the source slept nothing: waiting is the runner's
    clock.sleep(0.4)
    assert next(stream) is None and source.idle_s() == pytest.approx(0.6)
    clock.sleep(0.6)
    assert list(stream) == [] and source.idle_s() == 0.0


def test_the_runner_waits_what_the_source_says_a_slice_at_a_time():
    clock = FakeClock()
    start = clock.time()
    assert list(clock.run(Idle("idle", clock=clock))) == [None] * 4
    assert clock.time() - start == pytest.approx(1.0)
    assert max(clock.sleeps) <= 0.25


def test_stamped_items_carry_provenance_and_observation_time():
    clock = FakeClock()
    source = Idle("x", clock=clock)
    payload = {"data": {"id": "1", "author_id": "2", "created_at": "2026-11-20T10:00:00.000Z"}}
    item = source.stamp("tweet", payload, "filtered_stream", "football")
    info = posts.describe(item)
    assert info.source == "x.filtered_stream" and info.topic == "football"
    assert info.observed_at.timestamp() == clock.time()
    assert "1 items" in source.report()


def test_scrub_removes_every_secret():
    url = "https://api.example/v1?key=SECRETKEY&token=T0KEN"
    assert scrub(url, ["SECRETKEY", None, "T0KEN"]) == "https://api.example/v1?key=***&token=***"


def test_scrub_also_removes_url_encoded_and_decoded_forms():
    token = "AAAA%2Fsecret+x"
    for text in ("h: AAAA%2Fsecret+x", "url ?t=AAAA%252Fsecret%2Bx", "decoded AAAA/secret+x"):
        assert "secret" not in scrub(text, [token]), text


def test_mask_parameters_masks_any_value_of_the_named_parameters_only():
    text = 'GET /v3/search?q=a&key=OLDKEY&monkey=banana "see ?key=abc"quoted'
    assert mask_parameters(text, ("key",)) == (
        'GET /v3/search?q=a&key=***&monkey=banana "see ?key=***"quoted'
    )


def test_dead_letters_are_scrubbed_everywhere_and_stay_json(tmp_path):
    dead = DeadLetters(tmp_path / "dead.jsonl")
    source = Idle("live", secret="S3CR3T", dead_letters=dead)
    item = {"text": 'a "S3CR3T" b', "nested": [{"S3CR3T": b"raw S3CR3T"}], "n": 1}
    source.dead_letter("GET /x?t=S3CR3T", "echoed S3CR3T", item)
    (entry,) = dead.entries()
    assert "S3CR3T" not in codec.dumps(entry).decode()
    assert entry["item"] == {"text": 'a "***" b', "nested": [{"***": "raw ***"}], "n": 1}


def test_scrub_logs_rewrites_records_carrying_a_secret(caplog):
    logger = logging.getLogger("shoot2top.test.library")
    logger.addFilter(ScrubLogs(lambda text: scrub(text, ["S3CR3T"])))
    with caplog.at_level(logging.DEBUG, logger=logger.name):
        logger.debug("headers: %s", {"Authorization": "Bearer S3CR3T"})
    assert caplog.records[0].getMessage() == "headers: {'Authorization': 'Bearer ***'}"


# ----------------------------------------------------------------------------- one shape


def _x(resume=None, token="AAAA%2Ftoken"):
    config = XSourceConfig.model_validate(
        {"type": "x", "bearer_token": "${X_BEARER_TOKEN}", "api_url": "http://127.0.0.1:9",
         "topics": {"cats": "cats"}, "mode": "search"}
    )  # fmt: skip
    return XSource(config, bearer_token=token, resume=resume, clock=FakeClock())


def _youtube(resume=None, token="AIzaFAKE"):
    config = YouTubeSourceConfig.model_validate(
        {"type": "youtube", "api_key": "${YOUTUBE_API_KEY}", "api_url": "http://127.0.0.1:9/",
         "topics": {"cats": "cats"}}
    )  # fmt: skip
    return YouTubeSource(config, api_key=token, resume=resume, clock=FakeClock())


def _facebook(resume=None, token="EAAGtoken"):
    config = FacebookSourceConfig.model_validate(
        {"type": "facebook", "access_token": "${FB_TOKEN}", "api_url": "http://127.0.0.1:9",
         "pages": ["Metro"]}
    )  # fmt: skip
    return FacebookSource(config, access_token=token, resume=resume, clock=FakeClock())


SOURCES = {"x": _x, "youtube": _youtube, "facebook": _facebook}


@pytest.mark.parametrize("platform", SOURCES)
def test_every_live_source_has_one_versioned_state_shape(platform):
    source = SOURCES[platform]()
    now = source.clock.time()
    source.track("a1", now - 60, "cats")
    state = codec.loads(codec.dumps(source.snapshot()))
    assert state["version"] == STATE_VERSION
    assert state["tracker"] == {"a1": [now - 60, now + 300]}
    assert state["topic_of"] == {"a1": "cats"}
    again = SOURCES[platform](resume=state)
    assert again.snapshot() == state
    source.close()
    again.close()


@pytest.mark.parametrize(
    ("platform", "old"),
    [
        ("x", {"since_id": {"cats": "5"}, "passes": {}, "tracking": "TRACKED",
               "topic_of": {"a1": "cats"}}),
        ("youtube", {"topics": {}, "tracker": "TRACKED", "topic_of": {"a1": "cats"}}),
        ("facebook", {"version": 1, "pages": {}, "tracker": "TRACKED",
                      "topics": {"a1": "cats"}}),
    ],
)  # fmt: skip
def test_a_checkpoint_of_the_previous_shape_still_loads(platform, old):
    """A running deployment's checkpoint: X's ``tracking``, YouTube's unversioned state,
    Facebook's version 1 with ``topics``."""
    now = FakeClock().time()
    old = {**old, **{key: {"a1": [now - 60, now + 30]} for key, value in old.items()
                     if value == "TRACKED"}}  # fmt: skip
    source = SOURCES[platform](resume=old)
    state = source.snapshot()
    assert state["tracker"] == {"a1": [now - 60, now + 30]}
    assert state["topic_of"] == {"a1": "cats"}
    if platform == "x":
        assert state["since_id"] == {"cats": "5"}
    source.close()


@pytest.mark.parametrize("platform", SOURCES)
def test_a_state_of_an_unknown_version_is_refused_naming_the_source(platform):
    refused = rf"{platform} source '{platform}': resume state version 9"
    with pytest.raises(ValueError, match=refused):
        SOURCES[platform](resume={"version": 9})


@pytest.mark.parametrize("platform", SOURCES)
def test_snapshot_changes_nothing_in_the_source(platform):
    source = SOURCES[platform]()
    now = source.clock.time()
    source.track("a1", now - 60, "cats")
    source.topic_of["gone"] = "cats"  # no longer tracked: left out of the state, kept here
    before = dict(source.topic_of)
    first = codec.dumps(source.snapshot())
    assert source.topic_of == before and "gone" not in codec.loads(first)["topic_of"]
    assert codec.dumps(source.snapshot()) == first
    source.close()


@pytest.mark.parametrize("platform", SOURCES)
def test_an_empty_secret_is_refused_at_once_naming_it(platform):
    with pytest.raises(ValueError, match=rf"{platform} source '{platform}': .* is empty"):
        SOURCES[platform](token="")


@pytest.mark.parametrize("platform", SOURCES)
def test_an_unusable_state_is_refused_naming_the_source(platform):
    with pytest.raises(ValueError, match=rf"{platform} source '{platform}': unusable resume state"):
        SOURCES[platform](resume={"version": STATE_VERSION, "tracker": {"a1": "not a pair"}})


# ----------------------------------------------------------------------------- the runner


class Kept(Sink):
    def __init__(self):
        super().__init__("kept")
        self.items = []

    def _write(self, item):
        self.items.append(item)

    def _store(self):
        pass


class Ticking(LiveSource):
    """Idle for `idle_s` (real time), then one item: counts how often it was asked."""

    def __init__(self, idle_s):
        super().__init__(SimpleNamespace(name="ticking", tracking=TrackingOptions()))
        self.idle_for = idle_s
        self.asked = 0

    def __iter__(self):
        for step in self.wait(self.idle_for):
            self.asked += 1
            yield step
        yield self.stamp("tweet", {"data": {"id": "1", "author_id": "2",
                                            "created_at": "2026-11-20T10:00:00.000Z"}},
                         "test", None)  # fmt: skip


def test_the_in_process_runner_waits_for_an_idle_source_instead_of_spinning():
    source, sink = Ticking(0.5), Kept()
    started = time.monotonic()
    summary = Pipeline([source], [sink]).run()
    assert summary.items == 1 and len(sink.items) == 1
    assert time.monotonic() - started >= 0.5
    assert source.asked <= 10  # asked about every 0.1 s (a tick), not thousands of times


def test_a_spout_is_not_held_up_by_a_waiting_source():
    """`next_tuple` (TrackedSource.next) returns at once while the source waits, so acks
    are handled; Storm calls it again."""
    tracked = TrackedSource(Ticking(60.0))
    started = time.monotonic()
    assert [tracked.next() for _ in range(100)] == [None] * 100
    assert time.monotonic() - started < 0.5  # was 0.25 s a call
