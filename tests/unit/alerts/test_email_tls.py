"""SMTP transport security (issue 8 row 9, issue 11 item 3): STARTTLS and
implicit TLS verify the server's certificate and host name, and the
password never goes over an unencrypted connection unless allowed."""

from __future__ import annotations

import pytest

from ogi.settings import Settings
from services.alerts.delivery.email import EmailSink
from services.alerts.errors import PermanentDeliveryError
from services.alerts.subscriptions import new_subscription

from .receivers import smtp_receiver
from .test_email import alert
from .tls_smtp import Certs, make_certs, tls_smtp_server


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("smtp-certs"))


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """Certificates from a CA nobody trusts."""
    return make_certs(tmp_path_factory.mktemp("stranger-certs"), name="stranger")


def settings(port: int, **overrides: object) -> Settings:
    base: dict[str, object] = {
        "kafka_bootstrap": "127.0.0.1:1",
        "es_url": "http://127.0.0.1:1",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "deliver_timeout_s": 5,
        "smtp_user": "ogi",
        "smtp_password": "s3cret-pw",
    }
    base.update(overrides)
    return Settings(**base)  # type: ignore[arg-type]


SUB = new_subscription(email_to=["ops@example.org"])


def test_starttls_verified_then_auth_over_tls(certs: Certs) -> None:
    with tls_smtp_server(certs, implicit=False) as box:
        EmailSink(settings(box.port, smtp_starttls=True, smtp_ca_file=certs.ca)).send(alert(), SUB, "a1:3")
    assert box.commands[:3] == ["EHLO", "STARTTLS", "EHLO"]
    assert box.auth and all(tls for _, tls in box.auth)
    assert len(box.messages) == 1


def test_starttls_to_an_unverifiable_server_sends_no_password(certs: Certs, stranger: Certs) -> None:
    with (
        tls_smtp_server(stranger, implicit=False) as box,
        pytest.raises(PermanentDeliveryError, match="certificate did not verify"),
    ):
        EmailSink(settings(box.port, smtp_starttls=True, smtp_ca_file=certs.ca)).send(alert(), SUB, "a1:3")
    assert box.auth == [] and box.messages == []


def test_implicit_tls(certs: Certs, stranger: Certs) -> None:
    with tls_smtp_server(certs, implicit=True) as box:
        EmailSink(settings(box.port, smtp_tls=True, smtp_ca_file=certs.ca)).send(alert(), SUB, "a1:3")
    assert box.auth and all(tls for _, tls in box.auth) and len(box.messages) == 1
    with (
        tls_smtp_server(stranger, implicit=True) as box,
        pytest.raises(PermanentDeliveryError, match="verify"),
    ):
        EmailSink(settings(box.port, smtp_tls=True, smtp_ca_file=certs.ca)).send(alert(), SUB, "a1:3")
    assert box.auth == []


def test_port_465_means_implicit_tls_and_modes_exclude_each_other() -> None:
    assert settings(465).smtp_implicit_tls and not settings(587).smtp_implicit_tls
    assert not settings(465, smtp_tls=False).smtp_implicit_tls
    with pytest.raises(ValueError, match="exclude each other"):
        settings(465, smtp_tls=True, smtp_starttls=True)


def test_no_password_over_an_unencrypted_connection() -> None:
    with smtp_receiver() as box, pytest.raises(PermanentDeliveryError, match="unencrypted"):
        EmailSink(settings(box.port)).send(alert(), SUB, "a1:3")
    assert box.messages == []
    with smtp_receiver() as box:
        EmailSink(settings(box.port, smtp_user="")).send(alert(), SUB, "a1:3")  # no user: no AUTH, fine
    assert len(box.messages) == 1


def test_plain_auth_only_when_explicitly_allowed(certs: Certs) -> None:
    with tls_smtp_server(certs, implicit=False) as box:
        EmailSink(settings(box.port, smtp_allow_plain_auth=True)).send(alert(), SUB, "a1:3")
    assert box.auth and not any(tls for _, tls in box.auth) and len(box.messages) == 1


def test_crlf_in_an_address_is_permanent() -> None:
    sub = SUB.model_copy(update={"email_to": ["ops@example.org\r\nBcc: all@example.org"]})
    with pytest.raises(PermanentDeliveryError, match="CR/LF"):
        EmailSink(settings(25, smtp_user="")).send(alert(), sub, "a1:3")
