"""Refusal spike: an agency refused far more of its requests this year than
in its own earlier years, and more than its peers did in the same year.

Method — a beta-binomial tail test against pooled baselines:

* The figures are counts: ``refused`` = applications.refused.total and
  ``handled`` = applications.total_handled (the denominator of
  ``rates.refusal`` in the catalogue). Rates alone are never used, because
  3 of 4 and 300 of 400 are the same rate and very different evidence.
* Own baseline: the agency's earlier years (up to ``history_years``) pooled
  into one refused/handled count. Peer baseline: the same year's counts of
  the other agencies with the same region and level, pooled.
* Under "nothing changed", the baseline rate is uncertain in proportion to
  its own counts: Beta(½ + refused_base, ½ + handled_base − refused_base)
  (Jeffreys). This year's refusals are then beta-binomial, and the p-value is
  P(X ≥ refused). Unlike a plain binomial test, a baseline of 2 of 10 is
  not treated as exactly 20 %, so a small agency with a short history does
  not fire on noise; unlike a z-score on rates, small counts need no normal
  approximation. Each baseline's weight is capped (``max_baseline_weight``
  requests) because years genuinely differ: without the cap a large agency
  with a long history would alert on every small wobble.
* It fires only if all hold: ``handled >= min_requests``; the own baseline
  has ``handled >= min_history_requests``; the rate is at least
  ``min_ratio`` times and ``min_increase`` above the own baseline rate (a
  "far above" effect size, so a significant but tiny rise stays quiet);
  the own p-value is below ``alpha``; and, when at least ``min_peers`` peer
  agencies have counts, the peer p-value is below ``alpha`` too (with too
  few peers the own-history test decides alone, unless ``require_peers``).
* Severity: critical when both p-values (or the own one, without peers) are
  below ``alpha_critical``; warning otherwise.

Edges: no total_handled or zero handled (the rate is absent) — no finding;
first year of an agency — no own baseline, no finding; a missing year is
simply not in the pool.
"""

from __future__ import annotations

from pydantic import Field

from schemas.events import Severity, YearRecord
from services.alerts.rules.base import Context, Finding, Rule, RuleParams
from services.alerts.rules.stats import baseline_tail

REFUSED = "applications.refused.total"
HANDLED = "applications.total_handled"


def counts(record: YearRecord) -> tuple[int, int] | None:
    """(refused, handled) for a record that states both, handled > 0."""
    refused, handled = record.metrics.get(REFUSED), record.metrics.get(HANDLED)
    if refused is None or handled is None or handled <= 0 or refused < 0 or refused > handled:
        return None
    return round(refused), round(handled)


class RefusalSpikeParams(RuleParams):
    min_requests: int = Field(20, ge=1, description="least requests handled in the year under test")
    min_history_requests: int = Field(20, ge=1, description="least requests in the pooled earlier years")
    history_years: int = Field(5, ge=1, description="how many earlier years are pooled")
    min_ratio: float = Field(2.0, ge=1, description="rate / baseline rate at least this ...")
    min_increase: float = Field(0.10, ge=0, le=1, description="... and rate - baseline rate at least this")
    alpha: float = Field(0.01, gt=0, lt=1, description="beta-binomial tail p-value, own history and peers")
    alpha_critical: float = Field(0.0001, gt=0, lt=1, description="tail probability that makes it critical")
    min_peers: int = Field(2, ge=1, description="peer agencies needed for the peer test to count")
    min_peer_requests: int = Field(20, ge=1, description="least pooled peer requests for the peer test")
    require_peers: bool = Field(False, description="no finding without enough peers")
    max_baseline_weight: float = Field(
        200.0, gt=0, description="cap on a baseline's effective requests (year-to-year overdispersion)"
    )


class RefusalSpike(Rule):
    name = "refusal_spike"
    Params = RefusalSpikeParams
    uses_peers = True
    params: RefusalSpikeParams

    def evaluate(self, ctx: Context) -> list[Finding]:
        p = self.params
        record = ctx.record
        if record is None or (now := counts(record)) is None:
            return []
        refused, handled = now
        if handled < p.min_requests:
            return []
        pooled = [c for r in ctx.earlier(p.history_years) if (c := counts(r)) is not None]
        base_refused = sum(c[0] for c in pooled)
        base_handled = sum(c[1] for c in pooled)
        if base_handled < p.min_history_requests:
            return []
        rate = refused / handled
        base_rate = base_refused / base_handled
        if rate < base_rate * p.min_ratio or rate - base_rate < p.min_increase:
            return []
        p_own = baseline_tail(refused, handled, base_refused, base_handled, max_weight=p.max_baseline_weight)
        if p_own >= p.alpha:
            return []

        peer_counts = [c for peer in ctx.peers(ctx.year) if (c := counts(peer.record)) is not None]
        peer_refused = sum(c[0] for c in peer_counts)
        peer_handled = sum(c[1] for c in peer_counts)
        peer_rate: float | None = None
        p_peer: float | None = None
        if len(peer_counts) >= p.min_peers and peer_handled >= p.min_peer_requests:
            peer_rate = peer_refused / peer_handled
            p_peer = baseline_tail(
                refused, handled, peer_refused, peer_handled, max_weight=p.max_baseline_weight
            )
            if rate <= peer_rate or p_peer >= p.alpha:
                return []
        elif p.require_peers:
            return []

        worst = max(p_own, p_peer if p_peer is not None else 0.0)
        severity = Severity.CRITICAL if worst < p.alpha_critical else Severity.WARNING
        agency = ctx.history.agency or ctx.history.agency_key
        # Without a peer test the peer count stays out of the finding: how many
        # (too few) peers happened to have arrived must not make it "change".
        peers_text = (
            f"; peers ({len(peer_counts)} agencies) {peer_rate:.1%}, p={p_peer:.2g}"
            if peer_rate is not None and p_peer is not None
            else "; too few peers to compare"
        )
        return [
            self.finding(
                ctx,
                severity=severity,
                title=f"{agency} {ctx.year}: refusal rate {rate:.0%} (earlier years {base_rate:.0%})",
                message=(
                    f"{refused} of {handled} requests refused in {ctx.year} ({rate:.1%}); "
                    f"earlier {len(pooled)} year(s) {base_refused} of {base_handled} ({base_rate:.1%}), "
                    f"beta-binomial p={p_own:.2g}{peers_text}."
                ),
                figures={
                    "refused": float(refused),
                    "handled": float(handled),
                    "rate": rate,
                    "history_refused": float(base_refused),
                    "history_handled": float(base_handled),
                    "history_rate": base_rate,
                    "history_years": float(len(pooled)),
                    "p_value_history": p_own,
                    "peer_agencies": float(len(peer_counts)) if p_peer is not None else None,
                    "peer_rate": peer_rate,
                    "p_value_peers": p_peer,
                },
            )
        ]
