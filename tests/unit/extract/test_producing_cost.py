"""What keeps producing and consuming a report's records cheap (issue 14):
a report's metric events fit one producer batch (one produce request, not
one per 16 KB), and kafka-python checks fetched batches' CRC-32C in C."""

from __future__ import annotations

import reportgen

from ogi.streams import PRODUCER_BATCH_BYTES, make_app
from services.extract.engine import extract
from services.extract.events import to_metric_events

#: Kafka's default record batch limit (``message.max.bytes``) of the topics without large records
TOPIC_BATCH_LIMIT = 1_048_588


def test_a_reports_metric_events_fit_one_producer_batch(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ogi.settings import Settings

    report = extract(reportgen.flattened_text().encode(), filename="a.txt")
    events = [e.model_dump_json().encode() for e in to_metric_events(report)]
    per_record = 70  # a record's framing in a v2 batch, generously
    needed = sum(len(e) + per_record for e in events)
    app = make_app("cost-test", Settings(home=tmp_path))
    assert app.conf.producer_max_batch_size == PRODUCER_BATCH_BYTES
    assert needed <= PRODUCER_BATCH_BYTES < TOPIC_BATCH_LIMIT


def test_kafka_python_checks_crcs_in_c() -> None:
    from kafka.record import util

    assert util.calc_crc32c.__defaults__ is not None
    assert util.calc_crc32c.__defaults__[0] is not util.crc32c_py  # pure Python: 58% of the indexer's CPU
