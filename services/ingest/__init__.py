"""Ingest: watch agency sites and put every newly published annual report
on the raw topic, once.

Module map (one concern per file)::

    registry.py / registry.yaml   which sources to poll (data, not code)
    discovery.py                  list pages, report links, pagination, articles, years, dates
    fetch.py                      one polite, guarded GET (redirects, retries, size cap)
      guard.py                    SSRF: scheme + every resolved address, before connecting
      robots.py                   robots.txt per origin (protego)
      throttle.py                 per-host delay and concurrency
      retry.py                    what is retried and the backoff
      sniff.py                    media type by magic bytes; text encodings
    state.py                      what was seen/published (compacted Kafka topics)
    monitor.py                    polls on a jittered schedule, publishes, records status
    status.py                     the ``ogi status`` table
    sample_site.py                the gov-like local site ``make run`` serves the samples on
    files.py                      ``ogi ingest file``
    cli.py                        ``ogi ingest file|url|backfill``, ``ogi status``
    errors.py                     the error hierarchy
"""
