"""``SiteCache``: a gateway's site for the ``site`` tag, from the catalog, cached.

The catalog (the BOH core's ``gateways`` table) says where each gateway is; a batch only
claims a site. The writer asks ``site_of(gateway)`` for every batch, so the mapping is
held in memory and reloaded in a worker thread (never on the event loop) when it is
older than ``ttl_s``, or sooner — at most every ``miss_s`` — when a gateway it does not
know reports. A gateway the catalog does not place is written without a ``site`` tag: a
claim is not trusted (an unknown gateway's batches are held until it is registered), unless
``trust_claims`` (the cloud's auto-register mode, where the catalog takes the claimed site
anyway) lets the claimed site stand in until the next reload.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

__all__ = ["SiteCache"]

log = logging.getLogger(__name__)


class SiteCache:
    def __init__(
        self,
        load: Callable[[], Mapping[str, str]],
        *,
        ttl_s: float = 60.0,
        miss_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        trust_claims: bool = False,
    ) -> None:
        self.trust_claims = trust_claims
        self._load = load
        self._ttl_s = ttl_s
        self._miss_s = miss_s
        self._clock = clock
        self._sites: dict[str, str] = {}
        self._loaded_at = float("-inf")
        self.reloads = 0
        self.failures = 0

    def __call__(self, gateway: str, claimed: str = "") -> str:
        """The catalog's site of ``gateway``; else the claimed one if claims are trusted, or ""."""
        site = self._sites.get(gateway)
        if site is not None:
            return site
        return claimed if self.trust_claims else ""

    def due(self, gateways: set[str]) -> bool:
        age = self._clock() - self._loaded_at
        if age >= self._ttl_s:
            return True
        return age >= self._miss_s and not gateways <= self._sites.keys()

    async def refresh(self, gateways: set[str]) -> None:
        """Reload the mapping if it is stale or misses one of ``gateways``. A failing load
        keeps the old mapping (logged, counted) and is retried after ``miss_s``."""
        if not self.due(gateways):
            return
        self._loaded_at = self._clock()
        try:
            loaded = await asyncio.to_thread(self._load)
        except Exception as exc:  # the catalog is down: write with what is known
            self.failures += 1
            self._loaded_at = self._clock() - self._ttl_s + self._miss_s
            log.warning(
                "gateway sites not reloaded (%s: %s); keeping %d known",
                type(exc).__name__,
                exc,
                len(self._sites),
            )
            return
        self._sites = {g: s for g, s in loaded.items() if s}
        self.reloads += 1
