"""E-mail sink over SMTP (``OGI_SMTP_*`` settings; disabled when
``OGI_SMTP_HOST`` is empty). The idempotency key is the Message-ID's local
part and an ``X-OGI-Idempotency-Key`` header, so a mail client or a filter
can spot a repeat."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from schemas import Alert
from schemas.events import Subscription
from services.alerts.delivery.base import Sink, payload
from services.alerts.errors import DeliveryError, PermanentDeliveryError


def render(alert: Alert, key: str) -> str:
    lines = [alert.message, ""]
    lines += [f"agency:   {alert.agency or alert.agency_id or '-'}", f"region:   {alert.region or '-'}",
              f"year:     {alert.year}", f"rule:     {alert.rule}", f"severity: {alert.severity.value}",
              f"revision: {alert.revision}", ""]
    lines += [f"  {k} = {v:g}" if isinstance(v, float) else f"  {k} = {v}" for k, v in sorted(alert.figures.items())]
    if alert.report_url:
        lines += ["", f"report: {alert.report_url}"]
    lines += ["", f"idempotency key: {key}"]
    return "\n".join(lines) + "\n"


class EmailSink(Sink):
    name = "email"

    def applies(self, subscription: Subscription) -> bool:
        return bool(subscription.email_to) and bool(self.settings.smtp_host)

    def send(self, alert: Alert, subscription: Subscription, key: str) -> None:
        s = self.settings
        msg = EmailMessage()
        msg["Subject"] = f"[ogi {alert.severity.value}] {alert.title}"
        msg["From"] = s.smtp_from
        msg["To"] = ", ".join(subscription.email_to)
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = f"<{key.replace(':', '.')}.{subscription.subscription_id}@ogi>"
        msg["X-OGI-Idempotency-Key"] = key
        msg.set_content(render(alert, key))
        msg.add_attachment(payload(alert, subscription, key), maintype="application", subtype="json",
                           filename="alert.json")
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.deliver_timeout_s) as smtp:
                if s.smtp_starttls:
                    smtp.starttls()
                if s.smtp_user:
                    smtp.login(s.smtp_user, s.smtp_password)
                smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentDeliveryError(f"recipients refused: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise PermanentDeliveryError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
            raise DeliveryError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
