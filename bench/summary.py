"""The one table `make bench` prints: every figure beside its reference and its goal.

Why: the question a reader brings is "how far is Porchlight from what the framework alone does
on this machine, and does it meet the goal?"; one row per figure answers it at a glance. The
scenarios' own tables (`python -m bench --details`) say how each figure was made.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import scale as scale_run
from . import stats as stats_run
from .broadcast import RATE_TARGET, BroadcastResult
from .common import BurstResult
from .surge import SurgeResult

TIP_P95_GOAL_MS = 10.0


@dataclass
class Results:
    tips: list[tuple[str, BurstResult, BurstResult | None]] = field(default_factory=list)
    limited: BroadcastResult | None = None
    paid: BroadcastResult | None = None
    unlimited: BroadcastResult | None = None  # Porchlight on aiohttp, limits off
    unlimited_httpx: BroadcastResult | None = None
    bare_aiohttp: BroadcastResult | None = None
    bare_httpx: BroadcastResult | None = None
    bare_aiogram: BroadcastResult | None = None
    stats: stats_run.StatsResult | None = None
    scale: scale_run.ScaleResult | None = None
    surges: list[SurgeResult] = field(default_factory=list)


def _n(value: float, digits: int = 0) -> str:
    return "—" if math.isnan(value) or math.isinf(value) else f"{value:,.{digits}f}"


def _ok(passed: bool) -> str:
    return "**pass**" if passed else "**miss**"


def _losses(r: BurstResult) -> str:
    return f"{r.lost} lost, {r.duplicated} duplicated"


def _tip_row(label: str, porch: BurstResult, bare: BurstResult | None) -> str:
    single = len(porch.sent) > 1 and "one after" in " ".join(porch.notes)
    figure = (
        f"p50 {_n(porch.percentile(50), 1)} / p95 {_n(porch.percentile(95), 1)} ms, "
        f"{_n(porch.throughput, 1)} tips/s, {_losses(porch)}"
    )
    if bare is None:
        return f"| {label} | {figure} | — | — |"
    reference = (
        f"bare PTB router: p50 {_n(bare.percentile(50), 1)} / p95 {_n(bare.percentile(95), 1)} "
        f"ms, {_n(bare.throughput, 1)} tips/s"
    )
    if single:
        goal = f"p95 < {TIP_P95_GOAL_MS:.0f} ms: {_ok(porch.percentile(95) < TIP_P95_GOAL_MS)}"
    else:
        ratio = porch.throughput / bare.throughput if bare.throughput else math.nan
        goal = f"≥ 1.0× the router: {_n(ratio, 2)}× {_ok(ratio >= 1.0)}"
    return f"| {label} | {figure} | {reference} | {goal} |"


def _rate(r: BroadcastResult) -> str:
    return f"{_n(r.rate)}/s"


def _limited_row(label: str, r: BroadcastResult) -> str:
    share = r.share_of_ceiling
    figure = (
        f"{_n(r.rate, 1)}/s = {_n(share * 100, 1)} % of {_n(r.ceiling or math.nan)}/s, "
        f"{r.too_many_requests} × 429, {_losses(r)}"
    )
    passed = share >= RATE_TARGET and r.too_many_requests == 0 and r.lost == r.duplicated == 0
    return (
        f"| {label} | {figure} | Telegram's limit | ≥ {RATE_TARGET:.0%}, 0 × 429: {_ok(passed)} |"
    )


def _unlimited_rows(res: Results) -> list[str]:
    rows = []
    porch, ptb, aiogram = res.unlimited, res.bare_aiohttp, res.bare_aiogram
    loop = res.bare_httpx  # the "bare PTB": its own send_message loop, PTB's own client
    if porch is not None:
        refs = []
        for bare in (loop, ptb, aiogram):
            if bare is not None:
                refs.append(f"{bare.name}: {_rate(bare)} ({_n(porch.rate / bare.rate, 2)}×)")
        goals = []
        if aiogram is not None:
            goals.append(f"≥ 1.0× aiogram {_ok(porch.rate >= aiogram.rate)}")
        if loop is not None:
            goals.append(f"≥ 1.0× the bare PTB loop {_ok(porch.rate >= loop.rate)}")
        if ptb is not None:  # no goal of the issue's: the same client as Porchlight, no outbox
            goals.append(f"PTB on the same aiohttp client: {_n(porch.rate / ptb.rate, 2)}×")
        rows.append(
            f"| broadcast of {len(porch.sent):,}, limits off (aiohttp) | {_rate(porch)}, "
            f"{_losses(porch)} | {'; '.join(refs) or '—'} | {', '.join(goals) or '—'} |"
        )
    slow, bare_httpx = res.unlimited_httpx, res.bare_httpx
    if slow is not None:
        ref = f"{bare_httpx.name}: {_rate(bare_httpx)}" if bare_httpx is not None else "—"
        rows.append(
            f"| broadcast, limits off (HTTP_BACKEND=httpx) | {_rate(slow)}, {_losses(slow)} "
            f"| {ref} | — |"
        )
    return rows


def _scale_rows(res: Results) -> list[str]:
    rows = []
    st, sc = res.stats, res.scale
    if st is not None:
        photo = stats_run.statistics.median(st.photo_e2e_ms) if st.photo_e2e_ms else math.nan
        rows.append(
            f"| /stats on {st.residents:,} residents, {st.tips:,} tips, {st.deliveries:,} "
            f"deliveries | {_n(photo)} ms to the photo (median; queries "
            f"{stats_run._median(st.query_ms)} ms) | — | < {stats_run.GOAL_MS:.0f} ms: "
            f"{_ok(photo < stats_run.GOAL_MS)} |"
        )
    if sc is not None:
        p50, p95 = sc.mytips(50), sc.mytips(95)
        rows += [
            f"| /mytips on the same database (resident with {scale_run.OWN_TIPS} tips) | "
            f"p50 {_n(p50, 1)} / p95 {_n(p95, 1)} ms | — | < {scale_run.MYTIPS_GOAL_MS:.0f} ms: "
            f"{_ok(p95 < scale_run.MYTIPS_GOAL_MS)} |",
            f"| start-up on it: process start → polling | {_n(sc.startup_s, 2)} s | — | "
            f"< {scale_run.STARTUP_GOAL_S:.0f} s: {_ok(sc.startup_s < scale_run.STARTUP_GOAL_S)} |",
            f"| RSS of the bot process after /mytips | {_n(sc.rss_mb)} MiB (peak "
            f"{_n(sc.peak_rss_mb)}) | — | < {scale_run.RSS_GOAL_MB:.0f} MB: "
            f"{_ok(sc.peak_rss_mb < scale_run.RSS_GOAL_MB)} |",
            f"| database size (SQLite, with WAL) | {_n(sc.database_mb)} MiB | — | reported |",
        ]
    return rows


def _surge_row(r: SurgeResult) -> str:
    where = "forum officer chat" if r.forum else "plain officer chat"
    figure = (
        f"{len(r.visible)} of {len(r.filed)} visible ({len(r.cards)} cards, {len(r.listed)} "
        f"listed), urgent within {_n(r.urgent_worst_s, 1)} s, all within {_n(r.cleared_s, 1)} s, "
        f"{r.too_many_requests} × 429"
    )
    passed = len(r.visible) == len(r.filed) and r.urgent_worst_s <= 30 and r.cleared_s <= 180
    return (
        f"| surge of {r.tips} tips in {r.over:.0f} s, {where} | {figure} | 20 messages a minute "
        f"| urgent ≤ 30 s, all ≤ 3 min: {_ok(passed and r.too_many_requests == 0)} |"
    )


def table(res: Results) -> str:
    lines = ["| what | Porchlight | reference on this machine | goal |", "|---|---|---|---|"]
    lines += [_tip_row(label, porch, bare) for label, porch, bare in res.tips]
    lines += _unlimited_rows(res)
    if res.limited is not None:
        lines.append(_limited_row(f"weekly tip to {len(res.limited.sent):,}", res.limited))
    if res.paid is not None:
        lines.append(_limited_row(f"paid alert to {len(res.paid.sent):,}", res.paid))
    lines += _scale_rows(res)
    lines += [_surge_row(r) for r in res.surges]
    return "\n".join(lines)
