"""Alerts: detect anomalies in extracted reports, deliver them to subscribers.

The data path::

    reports.extracted --> detector (Faust, app.py) --> alerts --> indexer --> Elasticsearch
                                                        \\--> deliverer (delivery/) --> webhook / e-mail

- ``rules/``: one rule per file and ``RULES`` (name -> class), parameters
  from ``rules.yaml`` (or the file ``OGI_ALERT_RULES`` names);
- ``detector.py``: pure functions, history + report -> findings -> alerts;
- ``app.py``: the Faust agent and tables around the detector;
- ``subscriptions.py``: filters and the compacted subscriptions topic;
- ``delivery/``: one sink per file, retries and per-subscriber isolation;
- ``cli.py``: ``ogi subscribe add|list|remove`` and ``ogi alerts``.
"""
