"""Shards: `i/N` splits a job's filters by index modulo N, so N machines can share one folder."""

from __future__ import annotations

from ..errors import ActmaxError


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """`i/N` → (i, N).

    Raises:
        ActmaxError: not of that form, or i outside 0..N-1.
    """
    if text is None:
        return None
    try:
        i, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise ActmaxError(f"bad shard '{text}'; write i/N, e.g. 0/4 for the first of 4 shards") from None
    if not 0 <= i < n:
        raise ActmaxError(f"shard '{text}' must have 0 <= i < N, e.g. 0/{max(n, 1)} … {max(n, 1) - 1}/{max(n, 1)}")
    return i, n


def in_shard(index: int, shard: tuple[int, int] | None) -> bool:
    """Filters go to shards by index modulo N, whatever the selection."""
    return shard is None or index % shard[1] == shard[0]
