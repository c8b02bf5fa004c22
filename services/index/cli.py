"""``ogi index ...`` commands."""

from __future__ import annotations

import argparse
import json



def _search(args: argparse.Namespace) -> int:
    from services.index.store import index_name, make_client

    es = make_client()
    must: list[dict[str, object]] = []
    for field in ("agency", "metric", "applicant"):
        value = getattr(args, field)
        if value:
            must.append({"term": {field: value}})
    if args.year:
        must.append({"term": {"year": args.year}})
    resp = es.search(index=index_name("metrics"), query={"bool": {"must": must}}, size=args.size,
                     sort=[{"agency": "asc"}, {"year": "asc"}, {"metric": "asc"}])
    for hit in resp["hits"]["hits"]:
        s = hit["_source"]
        print(json.dumps({k: s.get(k) for k in ("agency", "year", "metric", "applicant", "value", "provenance")},
                         ensure_ascii=False))
    return 0


def _counts(args: argparse.Namespace) -> int:
    from services.index.store import INDICES, index_name, make_client

    es = make_client()
    for kind in INDICES:
        name = index_name(kind)
        n = es.count(index=name)["count"] if es.indices.exists(index=name) else 0
        print(f"{name}\t{n}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("index", help="query what the indexer wrote to Elasticsearch")
    s = p.add_subparsers(dest="index_command", required=True)
    q = s.add_parser("search", help="metric values, filterable")
    q.add_argument("--agency")
    q.add_argument("--year", type=int)
    q.add_argument("--metric")
    q.add_argument("--applicant", default="total")
    q.add_argument("--size", type=int, default=50)
    q.set_defaults(handler=_search)
    c = s.add_parser("counts", help="documents per index")
    c.set_defaults(handler=_counts)
