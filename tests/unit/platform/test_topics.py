"""The topic table is the one place topic names, keys and configs live."""

from __future__ import annotations

from ogi.settings import Settings
from ogi.topics import RAW, TOPICS
from schemas import RawReport


def _settings(**kw: object) -> Settings:
    return Settings(kafka_bootstrap="127.0.0.1:1", es_url="http://127.0.0.1:2", **kw)  # type: ignore[arg-type]


def test_names_use_prefix() -> None:
    s = _settings(topic_prefix="x.")
    names = [spec.name(s) for spec in TOPICS.values()]
    assert all(n.startswith("x.") for n in names)
    assert len(set(names)) == len(names)


def test_every_key_field_exists_on_its_model() -> None:
    for spec in TOPICS.values():
        fields = set(spec.model.model_fields) | {
            n for n in dir(spec.model) if isinstance(getattr(spec.model, n, None), property)
        }
        assert spec.key in fields, f"{spec.suffix}: {spec.model.__name__} has no {spec.key}"


def test_raw_topic_fits_a_max_size_document() -> None:
    s = _settings(max_document_bytes=20 * 1024 * 1024)
    doc = RawReport.from_bytes(b"\xff" * s.max_document_bytes, agency_id="a", source_url="u" * 2000)
    envelope = len(doc.model_dump_json())
    assert envelope < int(RAW.config(s)["max.message.bytes"]) <= s.max_message_bytes


def test_the_dead_letter_of_a_max_size_document_fits() -> None:
    from ogi.deadletter import dead_letter
    from ogi.topics import DEADLETTER
    from schemas import Stage

    s = _settings(max_document_bytes=4 * 1024 * 1024)
    raw = RawReport.from_bytes(b"\xff" * s.max_document_bytes, agency_id="a", source_url="u" * 2000)
    letter = dead_letter(Stage.EXTRACT, ValueError("x" * 5000), raw.model_dump_json().encode())
    assert len(letter.model_dump_json()) < int(DEADLETTER.config(s)["max.message.bytes"])


def test_compaction_only_where_latest_wins() -> None:
    compacted = {spec.suffix for spec in TOPICS.values() if spec.compacted}
    assert "alerts" in compacted and "raw.reports" not in compacted
    for spec in TOPICS.values():
        assert spec.config(_settings())["cleanup.policy"] == ("compact" if spec.compacted else "delete")
