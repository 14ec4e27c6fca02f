"""The in-process runner: the original design's stream chaining.

Pulls batches from every source in turn (what each holds at once: a lake replay's merged
files) and writes each batch to every sink whole; each item is validated once, by its
source, and encoded once per sink. It checkpoints the sources only after flushing every
sink, so a restart resumes after what is durably stored (at-least-once), and it flushes
and closes every sink at the end of input, at a limit, on SIGINT/SIGTERM or after a
source error: nothing accepted is lost.
"""

from __future__ import annotations

import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Protocol

from shoot2top.codec import fewer_collections
from shoot2top.runtime.deadletter import DeadLetters
from shoot2top.runtime.progress import ProgressReporter
from shoot2top.runtime.state import Checkpoints
from shoot2top.runtime.status import StatusFile
from shoot2top.sinks.base import Sink
from shoot2top.sources.base import Item, Source

TICK_EVERY_S = 0.1
SWITCH_INTERVAL_S = 0.0005
"""How soon a sink's writer thread gets the GIL back after a blocking call (write, fsync,
a commit) while this thread decodes: Python's default (5 ms) left the lake sink's writer
thread waiting about 5 ms for each of the nine calls of a publication, so the stream
waited for it; measured 0.9x (default) against 1.11x (0.5 ms) the synchronous sink."""
BATCH_ITEMS = 1000  # the most a source hands over at once (a lake sink's default batch)
_REPLAY_NOTE = "items after the last checkpoint will be replayed on the next run"


class AnalyticsStage(Protocol):
    """A stage fed every item moved, in order, after the sinks took its batch
    (shoot2top.analytics.inprocess.TrendsHook): its snapshot is saved with the sources'
    positions under `checkpoint_key`."""

    name: str

    @property
    def checkpoint_key(self) -> str: ...

    def write(self, item: Item) -> None: ...
    def snapshot(self) -> dict[str, Any]: ...
    def finish(self) -> None: ...
    def close(self) -> None: ...
    def report(self) -> str: ...


class PipelineError(RuntimeError):
    """The run failed; the message names the component and what is left to replay."""


@dataclass
class RunSummary:
    """What a run did, for the CLI's closing report."""

    items: int = 0
    seconds: float = 0.0
    per_type: Counter[str] = field(default_factory=Counter)
    bytes_read: int = 0
    source_reports: dict[str, str] = field(default_factory=dict)
    sink_reports: dict[str, str] = field(default_factory=dict)
    stopped_by: str = "end of input"

    @property
    def items_per_s(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else 0.0


class Pipeline:
    """Sources chained to sinks, with checkpoints."""

    def __init__(
        self,
        sources: list[Source],
        sinks: list[Sink],
        *,
        checkpoints: Checkpoints | None = None,
        checkpoint_interval_s: float = 5.0,
        progress: ProgressReporter | None = None,
        dead_letters: DeadLetters | None = None,
        status: StatusFile | None = None,
        analytics: Sequence[AnalyticsStage] = (),
    ) -> None:
        if not sources or not sinks:
            raise ValueError("a pipeline needs at least one source and one sink")
        self.sources = sources
        self.sinks = sinks
        self.checkpoints = checkpoints
        self.checkpoint_interval_s = checkpoint_interval_s
        self.progress = progress
        self.dead_letters = dead_letters
        self.status = status
        self.analytics = list(analytics)
        self.items_per_source: Counter[str] = Counter()
        self.last_item_per_source: dict[str, Item] = {}  # for the status: its lag
        self._stop_reason: str | None = None
        self._encoded = False  # items move as JSON text (`_moves_encoded`)

    def request_stop(self, reason: str) -> None:
        """Ask the run to end after the current batch (safe from a signal handler)."""
        self._stop_reason = reason

    def run(self, *, limit: int | None = None, duration_s: float | None = None) -> RunSummary:
        summary = RunSummary()
        started = time.monotonic()
        source_failure: _SourceFailure | None = None
        self._encoded = self._moves_encoded()
        try:
            with fewer_collections(), prompt_thread_switches():
                self._pump(summary, limit, None if duration_s is None else started + duration_s)
        except _SourceFailure as failure:
            source_failure = failure  # what was read before it is still delivered
        except _SinkFailure as failure:
            self._abandon()
            raise PipelineError(f"{failure}; {_REPLAY_NOTE}") from failure.__cause__
        except Exception as error:
            self._abandon()
            raise PipelineError(f"{error}; {_REPLAY_NOTE}") from error
        summary.stopped_by = self._stop_reason or "end of input"
        try:
            self._finish(summary, started)
        except Exception as error:
            self._abandon()
            first = f"{source_failure}; then " if source_failure else ""  # the root cause first
            raise PipelineError(f"{first}{error}; {_REPLAY_NOTE}") from error
        if source_failure is not None:
            raise PipelineError(str(source_failure)) from source_failure.__cause__
        return summary

    def _pump(self, summary: RunSummary, limit: int | None, deadline: float | None) -> None:
        """Move batches from the sources to the sinks until something says stop.

        A batch is what a source holds at once (a lake source: up to `BATCH_ITEMS` items
        of its merged files); every sink takes it whole, so per-item work is the
        sources' validation and the sinks' encoding, nothing of the runner's own."""
        next_tick = time.monotonic() + TICK_EVERY_S
        next_checkpoint = time.monotonic() + self.checkpoint_interval_s
        for batch in self._interleave(summary, limit):
            if batch:
                for sink in self.sinks:
                    try:
                        if self._encoded:
                            sink.write_encoded(batch)
                        else:
                            sink.write_batch(batch)
                    except Exception as error:
                        raise _SinkFailure(sink, error) from error
                for stage in self.analytics:
                    for item in batch:
                        stage.write(item)
                summary.items += len(batch)
                if limit is not None and summary.items >= limit:
                    self._stop_reason = "limit"
            now = time.monotonic()
            if not batch or now >= next_tick:
                next_tick = now + TICK_EVERY_S
                for sink in self.sinks:
                    try:
                        sink.tick()
                    except Exception as error:
                        raise _SinkFailure(sink, error) from error
                if self.progress:
                    self.progress.update(summary.items, self._bytes_read(), self._bytes_total())
                if deadline is not None and now >= deadline:
                    self._stop_reason = self._stop_reason or "duration"
                if now >= next_checkpoint:
                    self.checkpoint()
                    next_checkpoint = now + self.checkpoint_interval_s
            if self._stop_reason:
                return

    def _moves_encoded(self) -> bool:
        """Whether items move as JSON text: when every sink stores JSON text as it is (lake
        sinks) and no analytics stage reads them. Then the sources that can (a lake
        replay) hand out their items as stored, and nothing decodes what no one reads
        (`shoot2top.encoded`); the others' items are encoded by the sinks as ever."""
        if self.analytics or not all(sink.takes_encoded for sink in self.sinks):
            return False
        for source in self.sources:
            source.hand_out_encoded()  # or not: those sinks take decoded items too
        return True

    def checkpoint(self) -> None:
        """Flush every sink and the dead letters, then record every source's position."""
        for sink in self.sinks:
            try:
                sink.flush()
            except Exception as error:
                raise _SinkFailure(sink, error) from error
        if self.dead_letters is not None:
            self.dead_letters.sync()
        if self.checkpoints is not None:
            positions = {source.name: source.snapshot() for source in self.sources}
            for stage in self.analytics:  # its state with the positions it has counted
                positions[stage.checkpoint_key] = stage.snapshot()
            self.checkpoints.save(positions)
        if self.status is not None:
            self.status.save(self)

    def _finish(self, summary: RunSummary, started: float) -> None:
        """Flush, checkpoint and close everything: the orderly end of any run."""
        if summary.stopped_by == "end of input":  # not at a limit: a resumed run goes on
            for stage in self.analytics:
                stage.finish()
        self.checkpoint()
        for stage in self.analytics:
            stage.close()
        for sink in self.sinks:
            try:
                sink.close()
            except Exception as error:
                raise _SinkFailure(sink, error) from error
        for source in self.sources:
            source.close()
        if self.progress:
            self.progress.close()
        if self.status is not None:
            self.status.save(self, stopped_by=summary.stopped_by)
        summary.seconds = time.monotonic() - started
        summary.bytes_read = self._bytes_read()
        for source in self.sources:
            summary.per_type.update(source.per_type)
        summary.source_reports = {source.name: source.report() for source in self.sources}
        summary.sink_reports = {sink.name: sink.report() for sink in self.sinks}
        for stage in self.analytics:
            summary.sink_reports[f"analytics {stage.name}"] = stage.report()

    def _abandon(self) -> None:
        """After a failure: keep the checkpoint where it was; sinks drop what they hold
        (`Sink.abandon`: all of it is replayed, and a close would store it, or wait for
        a store that just failed), sources and stages close."""
        for sink in self.sinks:
            with suppress(Exception):  # the original error is the one to report
                sink.abandon()
        others: list[Source | AnalyticsStage] = [*self.sources, *self.analytics]
        for component in others:
            with suppress(Exception):
                component.close()
        if self.progress:
            self.progress.close()

    def _bytes_read(self) -> int:
        return sum(source.bytes_read for source in self.sources)

    def _bytes_total(self) -> int | None:
        """All the sources will read, if each of them is finite and knows it."""
        totals = [source.bytes_total for source in self.sources]
        known = [total for total in totals if total is not None]
        return None if len(known) < len(totals) else sum(known)

    def _interleave(self, summary: RunSummary, limit: int | None) -> Iterator[list[Item]]:
        """A batch from every source in turn ([] when one has nothing right now), never
        more than `limit` items in all; a source error names the source. When a round
        brought nothing, wait what the sources say nothing comes (`idle_s`), a tick at
        most: the runner waits, not the sources."""
        active = list(self.sources)
        while active:
            idle = True
            for source in list(active):
                room = BATCH_ITEMS if limit is None else min(BATCH_ITEMS, limit - summary.items)
                try:
                    batch = source.next_batch(room)
                except Exception as error:
                    raise _SourceFailure(f"source {source.name!r} failed: {error}") from error
                if batch is None:
                    active.remove(source)
                    continue
                if batch:
                    idle = False
                    self.items_per_source[source.name] += len(batch)
                    last = batch[-1]  # (text: copied, not a view keeping its file alive)
                    self.last_item_per_source[source.name] = (
                        last if isinstance(last, dict) else bytes(last)
                    )
                yield batch
            if idle and active:
                time.sleep(min([TICK_EVERY_S, *(source.idle_s() for source in active)]))


class _SourceFailure(Exception):
    pass


class _SinkFailure(Exception):
    """A sink's write, flush or close failed; the message names the sink."""

    def __init__(self, sink: Sink, error: BaseException) -> None:
        super().__init__(f"sink {sink.name!r} failed: {error}")


@contextmanager
def prompt_thread_switches(interval_s: float = SWITCH_INTERVAL_S) -> Iterator[None]:
    """Python's thread switch interval at most `interval_s` while the block runs (the
    previous one restored after)."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, interval_s))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


@contextmanager
def stop_on_signals(pipeline: Pipeline) -> Iterator[None]:
    """Turn SIGINT/SIGTERM into an orderly stop of `pipeline` while the block runs; a
    sink waiting (for room, for a reader) is interrupted, its item not accepted."""
    previous: dict[signal.Signals, Any] = {}

    def handle(signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        pipeline.request_stop(name)
        for sink in pipeline.sinks:
            sink.interrupt(f"stopped by {name}")

    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handle)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
