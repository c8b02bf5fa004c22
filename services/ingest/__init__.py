"""Ingest: watch agency sites and put every newly published annual report
on the raw topic, once.

Module map (one concern per file)::

    registry.py / registry.yaml   which sources to poll (data, not code)
    sources.py                    imported sources (``ingest.sources`` topic) + the book a monitor reads
    column.py                     the annual-report column found from an agency's home page
    discovery.py                  list pages, report links, pagination, articles, years, dates
    feeds.py                      column items loaded by a second request (dataproxy.jsp, JSON APIs)
    fetch.py                      one polite, guarded GET (redirects, retries, size cap)
      guard.py                    SSRF: scheme + every resolved address, before connecting
      robots.py                   robots.txt per origin (protego)
      throttle.py                 per-host delay and concurrency
      retry.py                    what is retried and the backoff
      sniff.py                    media type by magic bytes; text encodings
    state.py                      what was seen/published (compacted Kafka topics)
    monitor.py                    wires the three parts below; ``ogi serve monitor``
      crawl.py                    one poll of one source: pages, links, what to re-check
      publish.py                  raw records and seen-state
      schedule.py                 when each source is polled; its status afterwards
    status.py                     the ``ogi status`` table
    sample_site.py                the gov-like local site ``make run`` serves the samples on (with an
                                  agency portal around it); many synthetic sites for the scale test
    files.py                      ``ogi ingest file``
    cli.py                        ``ogi ingest file|url|backfill``, ``ogi sources ...``, ``ogi status``
    errors.py                     the error hierarchy
"""
