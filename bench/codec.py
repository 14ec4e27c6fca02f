"""Which JSON codec for our items: orjson vs ujson vs the standard library.

Encodes and decodes the same sample items (X, YouTube, Facebook payloads) with each
codec, best of several rounds. Every codec gets the same options, the ones the lake
uses: compact, UTF-8 text unescaped (no \\uXXXX for non-ASCII) and `/` unescaped; the
run checks that every codec's text is byte-identical to orjson's and decodes back to
the item. Last line: a JSON summary with items/s per codec and orjson's ratio to ujson
(the design card's choice) measured in the same run.

    python bench/codec.py [--items 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from typing import Any

import orjson
import ujson

from shoot2top.sample.generate import generate_items

CODECS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    # orjson's only output: compact, UTF-8, nothing escaped that need not be
    "orjson": (orjson.dumps, orjson.loads),
    "ujson": (
        lambda obj: ujson.dumps(obj, ensure_ascii=False, escape_forward_slashes=False),
        ujson.loads,
    ),
    "json": (lambda obj: json.dumps(obj, ensure_ascii=False, separators=(",", ":")), json.loads),
}


def as_bytes(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode()


def each(function: Callable[[Any], Any], inputs: list[Any]) -> None:
    """Apply without keeping results: items stream through, as in a replay."""
    for value in inputs:
        function(value)


def best_rate(work: Callable[[], None], count: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return count / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    items = generate_items(items=args.items)
    results: dict[str, dict[str, float]] = {}
    for name, (dumps, loads) in CODECS.items():
        encoded = [dumps(item) for item in items]
        assert [loads(text) for text in encoded] == items, f"{name} does not round-trip"
        differing = sum(
            as_bytes(text) != orjson.dumps(item) for text, item in zip(encoded, items, strict=True)
        )
        assert not differing, f"{name}: {differing} items encode differently from orjson"
        results[name] = {
            "encode_items_per_s": best_rate(
                lambda d=dumps: each(d, items), len(items), args.rounds
            ),
            "decode_items_per_s": best_rate(
                lambda f=loads, e=encoded: each(f, e), len(items), args.rounds
            ),
        }
        print(f"{name:7} encode {results[name]['encode_items_per_s']:>12,.0f}/s   "
              f"decode {results[name]['decode_items_per_s']:>12,.0f}/s")  # fmt: skip
    summary = {
        "items": len(items),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "mean_item_bytes": round(sum(len(orjson.dumps(i)) for i in items) / len(items)),
        **{
            f"{name}_{key}": round(value) for name, r in results.items() for key, value in r.items()
        },
        "orjson_encode_ratio_to_ujson": round(
            results["orjson"]["encode_items_per_s"] / results["ujson"]["encode_items_per_s"], 2
        ),
        "orjson_decode_ratio_to_ujson": round(
            results["orjson"]["decode_items_per_s"] / results["ujson"]["decode_items_per_s"], 2
        ),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
