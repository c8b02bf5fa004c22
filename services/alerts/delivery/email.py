"""E-mail sink over SMTP (``OGI_SMTP_*`` settings; disabled when
``OGI_SMTP_HOST`` is empty). The idempotency key is the Message-ID's local
part and an ``X-OGI-Idempotency-Key`` header, so a mail client or a filter
can spot a repeat.

Transport security:

* implicit TLS (SMTPS) when ``OGI_SMTP_TLS`` is true, or by default on port
  465; STARTTLS when ``OGI_SMTP_STARTTLS`` is true. Both verify the server's
  certificate and host name (``OGI_SMTP_CA_FILE`` or the system's CAs): an
  unverified upgrade would protect against nobody.
* The password (``OGI_SMTP_USER``) is never sent over an unencrypted
  connection unless ``OGI_SMTP_ALLOW_PLAIN_AUTH`` says so (a local relay):
  such a delivery fails permanently, before connecting, with the reason.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from schemas import Alert
from schemas.events import Subscription
from services.alerts.delivery.base import Sink, payload
from services.alerts.errors import DeliveryError, PermanentDeliveryError


def render(alert: Alert, key: str) -> str:
    lines = [alert.message, ""]
    lines += [
        f"agency:   {alert.agency or alert.agency_id or '-'}",
        f"region:   {alert.region or '-'}",
        f"year:     {alert.year}",
        f"rule:     {alert.rule}",
        f"severity: {alert.severity.value}",
        f"revision: {alert.revision}",
        "",
    ]
    lines += [
        f"  {k} = {v:g}" if isinstance(v, float) else f"  {k} = {v}" for k, v in sorted(alert.figures.items())
    ]
    if alert.report_url:
        lines += ["", f"report: {alert.report_url}"]
    lines += ["", f"idempotency key: {key}"]
    return "\n".join(lines) + "\n"


class EmailSink(Sink):
    name = "email"

    def applies(self, subscription: Subscription) -> bool:
        return bool(subscription.email_to) and bool(self.settings.smtp_host)

    def message(self, alert: Alert, subscription: Subscription, key: str) -> EmailMessage:
        """The mail; a header that cannot be written (CR/LF in an address) is permanent."""
        s = self.settings
        if any("\r" in a or "\n" in a for a in [*subscription.email_to, s.smtp_from]):
            raise PermanentDeliveryError("an e-mail address contains CR/LF (header injection)")
        try:
            msg = EmailMessage()
            msg["Subject"] = f"[ogi {alert.severity.value}] {alert.title}"
            msg["From"] = s.smtp_from
            msg["To"] = ", ".join(subscription.email_to)
            msg["Date"] = formatdate(localtime=False)
            msg["Message-ID"] = f"<{key.replace(':', '.')}.{subscription.subscription_id}@ogi>"
            msg["X-OGI-Idempotency-Key"] = key
            msg.set_content(render(alert, key))
            msg.add_attachment(
                payload(alert, subscription, key),
                maintype="application",
                subtype="json",
                filename="alert.json",
            )
        except (ValueError, TypeError) as exc:
            raise PermanentDeliveryError(f"the message cannot be written: {exc}") from exc
        return msg

    def _connect(self) -> smtplib.SMTP:
        """A connection, encrypted as configured; refuses AUTH in clear."""
        s = self.settings
        encrypted = s.smtp_implicit_tls or s.smtp_starttls
        if s.smtp_user and not encrypted and not s.smtp_allow_plain_auth:
            raise PermanentDeliveryError(
                "refusing to send the SMTP password over an unencrypted connection: set OGI_SMTP_STARTTLS=true "
                "or OGI_SMTP_TLS=true (or OGI_SMTP_ALLOW_PLAIN_AUTH=true for a trusted local relay)"
            )
        context = ssl.create_default_context(cafile=str(s.smtp_ca_file) if s.smtp_ca_file else None)
        if s.smtp_implicit_tls:
            return smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.deliver_timeout_s, context=context)
        smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.deliver_timeout_s)
        if s.smtp_starttls:
            try:
                smtp.starttls(context=context)
            except BaseException:
                smtp.close()
                raise
        return smtp

    def send(self, alert: Alert, subscription: Subscription, key: str) -> None:
        s = self.settings
        msg = self.message(alert, subscription, key)
        try:
            with self._connect() as smtp:
                if s.smtp_user:
                    smtp.login(s.smtp_user, s.smtp_password.get_secret_value())
                smtp.send_message(msg)
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentDeliveryError(f"the SMTP server does not offer what is required: {exc}") from exc
        except ssl.SSLCertVerificationError as exc:
            raise PermanentDeliveryError(f"the SMTP server's certificate did not verify: {exc}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentDeliveryError(f"recipients refused: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise PermanentDeliveryError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
            raise DeliveryError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
