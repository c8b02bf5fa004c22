"""``ogi subscribe add|list|remove|silence|unsilence|digest`` and ``ogi alerts``."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from ogi.gazetteer import region_prefixes
from schemas import Severity


def _add(args: argparse.Namespace) -> int:
    from services.alerts.rules import RULES
    from services.alerts.subscriptions import SubscriptionStore, new_subscription, parse_duration

    unknown = set(args.rule or []) - set(RULES)
    if unknown:
        print(f"unknown rule(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(RULES))}")
        return 2
    try:
        sub = new_subscription(
            webhook_url=args.webhook,
            secret=args.secret,
            email_to=args.email or [],
            agencies=args.agency or [],
            regions=args.region or [],
            rules=args.rule or [],
            min_severity=args.min_severity,
            name=args.name,
            digest_s=parse_duration(args.digest) if args.digest else None,
            resolutions=not args.no_resolutions,
        )
    except ValueError as exc:
        print(str(exc))
        return 2
    store = SubscriptionStore()
    try:
        store.add(sub)
    finally:
        store.close()
    print(json.dumps(sub.model_dump(mode="json"), ensure_ascii=False, indent=2))
    if sub.webhook_secret and not args.secret:
        print("# keep the webhook_secret: receivers verify X-OGI-Signature with it")
    return 0


def _list(args: argparse.Namespace) -> int:
    from services.alerts.subscriptions import SubscriptionStore

    store = SubscriptionStore()
    try:
        subs = store.load()
    finally:
        store.close()
    for sub in sorted(subs.values(), key=lambda s: s.created_at):
        data = sub.model_dump(mode="json")
        if not args.show_secrets and data.get("webhook_secret"):
            data["webhook_secret"] = "***"
        if args.json:
            print(json.dumps(data, ensure_ascii=False))
        else:
            dest = ", ".join(filter(None, [sub.webhook_url, *sub.email_to]))
            filt = "; ".join(
                f"{k}={','.join(v)}"
                for k, v in (("agencies", sub.agencies), ("regions", sub.regions), ("rules", sub.rules))
                if v
            )
            extras = [f"digest every {sub.digest_s:g}s"] if sub.digest_s else []
            extras += [] if sub.resolutions else ["no resolutions"]
            extras += [f"silenced {describe_silence(x)}" for x in sub.silences]
            print(
                f"{sub.subscription_id}  {sub.name or '-':16} >= {sub.min_severity.value:8} "
                f"{filt or 'all alerts'} -> {dest}" + "".join(f"  [{e}]" for e in extras)
            )
    if not subs and not args.json:
        print("no subscriptions")
    return 0


def describe_silence(silence: Any) -> str:
    what = "; ".join(
        f"{k}={','.join(v)}"
        for k, v in (("agencies", silence.agencies), ("rules", silence.rules), ("regions", silence.regions))
        if v
    )
    return f"{what or 'everything'} until {silence.until.isoformat()}"


def _change(subscription_id: str, build: Any) -> int:
    """Rewrite one subscription with what ``build(current)`` returns."""
    from services.alerts.subscriptions import SubscriptionStore

    store = SubscriptionStore()
    try:
        current = store.load().get(subscription_id)
        if current is None:
            print(f"no subscription {subscription_id}")
            return 1
        try:
            changes = build(current)
        except ValueError as exc:
            print(str(exc))
            return 2
        updated = store.update(subscription_id, **changes)
    finally:
        store.close()
    assert updated is not None
    print(
        json.dumps(
            {
                "subscription_id": updated.subscription_id,
                "digest_s": updated.digest_s,
                "resolutions": updated.resolutions,
                "silences": [x.model_dump(mode="json") for x in updated.silences],
            },
            ensure_ascii=False,
        )
    )
    return 0


def _silence(args: argparse.Namespace) -> int:
    from schemas.events import Silence
    from services.alerts.rules import RULES
    from services.alerts.subscriptions import parse_until

    unknown = set(args.rule or []) - set(RULES)
    if unknown:
        print(f"unknown rule(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(RULES))}")
        return 2

    def build(current: Any) -> dict[str, Any]:
        silence = Silence(
            agencies=args.agency or [],
            rules=args.rule or [],
            regions=args.region or [],
            until=parse_until(args.until),
        )
        return {"silences": [*current.silences, silence]}

    return _change(args.subscription_id, build)


def _unsilence(args: argparse.Namespace) -> int:
    return _change(args.subscription_id, lambda current: {"silences": []})


def _digest(args: argparse.Namespace) -> int:
    from services.alerts.subscriptions import parse_duration

    every = None if args.every in ("off", "none", "0") else parse_duration(args.every)
    return _change(args.subscription_id, lambda current: {"digest_s": every})


def _remove(args: argparse.Namespace) -> int:
    from services.alerts.subscriptions import SubscriptionStore

    store = SubscriptionStore()
    try:
        ok = store.remove(args.subscription_id)
    finally:
        store.close()
    print("removed" if ok else f"no subscription {args.subscription_id}")
    return 0 if ok else 1


def alerts_query(
    *,
    agency: str | None = None,
    region: str | None = None,
    rule: list[str] | None = None,
    min_severity: str = "info",
    year: int | None = None,
    since_days: float | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """The Elasticsearch query ``ogi alerts`` runs on the alerts index."""
    filters: list[dict[str, Any]] = [{"range": {"severity_rank": {"gte": Severity(min_severity).rank}}}]
    if agency:
        filters.append(
            {
                "bool": {
                    "should": [
                        {"term": {"agency": agency}},
                        {"term": {"agency_id": agency}},
                        {"match_phrase": {"agency.text": agency}},
                    ],
                    "minimum_should_match": 1,
                }
            }
        )
    if region:
        filters.append(
            {
                "bool": {
                    "should": [{"prefix": {"region": p}} for p in region_prefixes(region)],
                    "minimum_should_match": 1,
                }
            }
        )
    if rule:
        filters.append({"terms": {"rule": rule}})
    if year:
        filters.append({"term": {"year": year}})
    if status:
        filters.append({"term": {"status": status}})
    if since_days:
        since = datetime.now(UTC) - timedelta(days=since_days)
        filters.append({"range": {"updated_at": {"gte": since.isoformat()}}})
    return {"bool": {"filter": filters}}


def _alerts(args: argparse.Namespace) -> int:
    from ogi.elastic import index_name, make_client

    es = make_client()
    index = index_name("alerts")
    if not es.indices.exists(index=index):
        print(f"no alerts index {index} (run `ogi setup`)")
        return 1
    query = alerts_query(
        agency=args.agency,
        region=args.region,
        rule=args.rule,
        min_severity=args.min_severity,
        year=args.year,
        since_days=args.since_days,
        status=args.status,
    )
    resp = es.search(
        index=index, query=query, size=args.limit, sort=[{"updated_at": "desc"}, {"severity_rank": "desc"}]
    )
    hits = resp["hits"]["hits"]
    for hit in hits:
        s = hit["_source"]
        if args.json:
            print(json.dumps(s, ensure_ascii=False))
        else:
            print(
                f"{s['updated_at'][:19]}  {s['severity']:8} {s.get('status', 'open'):8} {s['rule']:16} "
                f"{s.get('year') or '-'}  r{s['revision']}  {s['title']}"
            )
    if not hits and not args.json:
        print("no alerts")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    severities = [s.value for s in Severity]

    p = sub.add_parser("subscribe", help="manage alert subscriptions (webhook / e-mail)")
    s = p.add_subparsers(dest="subscribe_command", required=True)
    a = s.add_parser("add", help="subscribe a webhook and/or e-mail addresses to a filtered set of alerts")
    a.add_argument("--name")
    a.add_argument("--webhook", help="URL that receives a signed JSON POST per alert")
    a.add_argument("--secret", help="HMAC-SHA256 key for the signature (default: generated and printed)")
    a.add_argument("--email", action="append", help="e-mail address (repeatable; needs OGI_SMTP_HOST)")
    a.add_argument("--agency", action="append", help="agency name or id (repeatable; default: all)")
    a.add_argument(
        "--region", action="append", help="place, e.g. 浙江: agencies within it (repeatable; default: all)"
    )
    a.add_argument("--rule", action="append", help="rule name (repeatable; default: all)")
    a.add_argument("--min-severity", choices=severities, default="info")
    a.add_argument(
        "--digest",
        metavar="INTERVAL",
        help="bundle alerts into one message per interval (e.g. 1h, 1d); default: one message each",
    )
    a.add_argument(
        "--no-resolutions",
        action="store_true",
        help="do not send the resolution of an alert (default: sent to who got the alert)",
    )
    a.set_defaults(handler=_add)
    ls = s.add_parser("list", help="list subscriptions")
    ls.add_argument("--json", action="store_true")
    ls.add_argument("--show-secrets", action="store_true")
    ls.set_defaults(handler=_list)
    r = s.add_parser("remove", help="remove a subscription")
    r.add_argument("subscription_id")
    r.set_defaults(handler=_remove)
    si = s.add_parser(
        "silence", help="mute a subscription's alerts of some agencies, rules or regions until a date"
    )
    si.add_argument("subscription_id")
    si.add_argument("--agency", action="append", help="agency name or id (repeatable)")
    si.add_argument("--rule", action="append", help="rule name (repeatable)")
    si.add_argument("--region", action="append", help="region prefix (repeatable)")
    si.add_argument(
        "--until",
        required=True,
        help="YYYY-MM-DD (through that day, China time), an ISO date-time, or a duration (7d)",
    )
    si.set_defaults(handler=_silence)
    un = s.add_parser("unsilence", help="remove every silence of a subscription")
    un.add_argument("subscription_id")
    un.set_defaults(handler=_unsilence)
    dg = s.add_parser("digest", help="bundle a subscription's alerts per interval, or 'off'")
    dg.add_argument("subscription_id")
    dg.add_argument("every", metavar="INTERVAL|off")
    dg.set_defaults(handler=_digest)

    q = sub.add_parser("alerts", help="recent alerts from Elasticsearch, newest first, filterable")
    q.add_argument("--agency")
    q.add_argument("--region", help="place, e.g. 浙江: agencies within it")
    q.add_argument("--rule", action="append")
    q.add_argument("--min-severity", choices=severities, default="info")
    q.add_argument("--year", type=int)
    q.add_argument("--since-days", type=float)
    q.add_argument("--status", choices=["open", "resolved"], help="default: both")
    q.add_argument("--limit", type=int, default=50)
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=_alerts)
