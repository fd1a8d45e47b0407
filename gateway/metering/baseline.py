"""Baseline anomaly detector: EWMA of distinct subjects per hour of the week.

Kept per principal x purpose x hour-of-week (UTC) in privacy_gateway.detector_baseline
and folded once per hour for the whole cluster. An hour is anomalous only when the
baseline has `min_history` hours behind it and the count is above both mean + k
standard deviations and the absolute `floor`.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import asyncpg

_CLAIM = """
INSERT INTO privacy_gateway.detector_counts (rule, key, window_start, replica, value)
VALUES ('baseline_fold', '', $1, '*', 1) ON CONFLICT DO NOTHING RETURNING 1"""
_FOLD = """
WITH c AS (
  SELECT principal, purpose, count(DISTINCT s)::double precision AS n
    FROM privacy_gateway.exposure e, unnest(e.subjects) AS s
   WHERE e.ts >= $1 AND e.ts < $1 + interval '1 hour' AND principal IS NOT NULL
     AND purpose IS NOT NULL
   GROUP BY 1, 2)
INSERT INTO privacy_gateway.detector_baseline AS b
       (principal, purpose, how, hours, mean, var, updated_hour)
SELECT principal, purpose, $2, 1, n, 0, $1 FROM c
ON CONFLICT (principal, purpose, how) DO UPDATE SET
  hours = b.hours + 1,
  mean = b.mean + $3 * (EXCLUDED.mean - b.mean),
  var = (1 - $3) * (b.var + $3 * (EXCLUDED.mean - b.mean) ^ 2),
  updated_hour = EXCLUDED.updated_hour
WHERE b.updated_hour < EXCLUDED.updated_hour"""
_FETCH = """
SELECT hours, mean, var FROM privacy_gateway.detector_baseline
 WHERE principal = $1 AND purpose = $2 AND how = $3"""

def hour_start(ts: datetime) -> datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


def hour_of_week(ts: datetime) -> int:
    return ts.weekday() * 24 + ts.hour


def ewma(mean: float, var: float, value: float, alpha: float) -> tuple[float, float]:
    """One EWMA step for mean and variance (the same formula the fold runs in SQL)."""
    diff = value - mean
    return mean + alpha * diff, (1 - alpha) * (var + alpha * diff * diff)


def anomalous(count: int, hours: int, mean: float, var: float, min_history: int, k: float,
              floor: int) -> bool:
    return hours >= min_history and count > floor and count > mean + k * math.sqrt(var)


async def fold_previous_hour(conn: asyncpg.Connection, now: datetime, alpha: float) -> bool:
    """Fold the last complete hour into the baselines; one replica does it per hour."""
    previous = hour_start(now) - timedelta(hours=1)
    async with conn.transaction():
        if not await conn.fetchval(_CLAIM, previous):
            return False
        await conn.execute(_FOLD, previous, hour_of_week(previous), alpha)
    return True


async def fetch(conn: asyncpg.Connection, principal: str, purpose: str,
                now: datetime) -> tuple[int, float, float] | None:
    row = await conn.fetchrow(_FETCH, principal, purpose, hour_of_week(now))
    return (row["hours"], row["mean"], row["var"]) if row else None
