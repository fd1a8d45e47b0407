"""E-mail over SMTP (standard library client, run off the event loop)."""

from __future__ import annotations

import asyncio
import os
import smtplib
from email.message import EmailMessage

from incident.delivery.base import Channel, DeliveryError, Message


class SmtpChannel(Channel):
    type = "smtp"
    contact = "email"

    async def send(self, to: str, message: Message) -> None:
        mail = EmailMessage()
        mail["From"] = self.spec.get("sender", "privacy@localhost")
        mail["To"] = to
        mail["Subject"] = message.subject
        mail.set_content(message.body, charset="utf-8")
        await asyncio.to_thread(self._deliver, mail)

    def _deliver(self, mail: EmailMessage) -> None:
        host, port = self.spec.get("host", "127.0.0.1"), int(self.spec.get("port", 25))
        try:
            with smtplib.SMTP(host, port, timeout=float(self.spec.get("timeout", 10))) as smtp:
                if self.spec.get("starttls"):
                    smtp.starttls()
                if self.spec.get("user"):
                    password = os.environ.get(self.spec.get("password_env") or "", "")
                    smtp.login(self.spec["user"], password)
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"{self.name}: SMTP delivery failed ({type(exc).__name__})") \
                from None
