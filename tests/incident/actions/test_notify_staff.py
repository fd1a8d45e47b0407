"""notify.security / notify.internal: a failed delivery fails the step; resuming sends only
what was not sent."""

from __future__ import annotations

from gateway.embedded import free_port
from incident import engine, service
from incident.loader import Step


async def test_failed_recipient_is_retried_alone(conn, settings, mailbox, receiver):
    settings.values["channels"]["broken"] = {"type": "smtp", "host": "127.0.0.1",
                                             "port": free_port()}
    settings.values["security"] = [{"channel": "email", "to": "soc@example.cn"},
                                    {"channel": "broken", "to": "oncall@example.cn"}]
    inc = await service.declare(conn, settings, title="staff", actor="t")
    step = Step("sec", "notify.security", {})
    assert (await engine.run_single(conn, settings, inc.id, step, "t")).state == "failed"
    (row,) = await engine.steps(conn, inc.id)
    assert row["error"] == ("1 of 2 deliveries failed: broken: SMTP delivery failed"
                            " (ConnectionRefusedError)")
    assert "oncall@example.cn" not in row["error"]  # recipients stay out of messages
    assert len(mailbox.messages) == 1 and [p["path"] for p in receiver.posts] == ["/alerts"]

    settings.values["channels"]["broken"] = settings.values["channels"]["email"]
    assert (await engine.run_single(conn, settings, inc.id, step, "t")).state == "finished"
    assert sorted(m.rcpt_tos[0] for m in mailbox.messages) == ["oncall@example.cn",
                                                                "soc@example.cn"]
    assert [p["path"] for p in receiver.posts] == ["/alerts"]  # the sink is not paged twice
