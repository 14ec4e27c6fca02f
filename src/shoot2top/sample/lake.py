"""Write the generated sample into a lake the way production would have made it.

One writer per platform — as three independent ingest instances — each writing in the
items' own (simulated) time, so partitions rotate at the sample's day boundaries and the
three writers share each partition's timestamp. Writer ids derive from the seed: the
same seed gives a byte-identical lake.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from shoot2top.lake.store import LakeStore
from shoot2top.posts import observed_time, post_type
from shoot2top.runtime.progress import ProgressReporter
from shoot2top.sample.generate import iter_items
from shoot2top.sample.world import DEFAULT_START
from shoot2top.sinks.lake import LakeSink


def _seeded_uuids(seed: int) -> Callable[[], str]:
    rng = random.Random(f"sample-lake-writers-{seed}")
    return lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4))


def write_sample_lake(
    store: LakeStore,
    *,
    seed: int = 7,
    items: int = 3000,
    start: datetime = DEFAULT_START,
    rotation: str = "day",
    batch_items: int = 100,
    compress: bool = False,
    progress: ProgressReporter | None = None,
) -> Counter[str]:
    """Generate `items` sample items into `store`; returns the count per type."""
    now = {"time": start.timestamp()}
    new_writer_id = _seeded_uuids(seed)
    sinks: dict[str, LakeSink] = {}
    counts: Counter[str] = Counter()
    if progress:
        progress.note(f"planning {items:,} items")
    for done, item in enumerate(iter_items(seed=seed, items=items, start=start)):
        if progress and done % 1000 == 0:
            progress.count(done, items, "items written")
        kind = post_type(item)
        now["time"] = observed_time(item).timestamp()
        if kind not in sinks:
            sinks[kind] = LakeSink(
                store,
                name=f"sample-{kind}",
                rotation=rotation,
                batch_items=batch_items,
                batch_age_s=float("inf"),
                compress=compress,
                clock=lambda: now["time"],
                new_writer_id=new_writer_id,
            )
        sinks[kind].write(item)
        counts[kind] += 1
    for sink in sinks.values():
        sink.close()
    if progress:
        progress.close()
    return counts
