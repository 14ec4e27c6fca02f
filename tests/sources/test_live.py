import logging

import pytest

from fakes.clock import FakeClock
from shoot2top import codec, posts
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.sources.live import Backoff, LiveSource, ScrubLogs, mask_parameters, scrub


class Idle(LiveSource):
    def __iter__(self):
        yield from self.wait(1.0)

    def snapshot(self):
        return {}


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


def test_waiting_yields_none_in_slices_and_takes_clock_time():
    clock = FakeClock()
    start = clock.time()
    assert list(Idle("idle", clock=clock)) == [None] * 4
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
    source = Idle("live", secrets=["S3CR3T"], dead_letters=dead)
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
