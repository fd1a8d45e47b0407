"""notify.customers for real: SMTP e-mail and SMS webhook, each customer once, ever."""

from __future__ import annotations

from incident_support import leak, principal_name

from incident import engine, intake, store
from incident.loader import Step


async def test_send_reaches_each_customer_once(conn, settings, state_dsn, tmp_path, mailbox,
                                               receiver):
    p = principal_name()
    await leak(state_dsn, tmp_path, p, ["21", "22", "23", "24"], clear=["mobile"], masked=[])
    (incident_id,) = (await intake.ingest(conn, settings)).opened
    mailbox.messages.clear()
    receiver.posts.clear()

    step = Step("send", "notify.customers", {"dry_run": False})
    assert (await engine.run_single(conn, settings, incident_id, step, "t")).state == "finished"
    # Even ids have an e-mail address, odd ones only a phone.
    assert sorted(m.rcpt_tos[0] for m in mailbox.messages) == ["c22@example.cn",
                                                                "c24@example.cn"]
    sms = [post["body"] for post in receiver.posts if post["path"] == "/sms"]
    assert sorted(s["to"] for s in sms) == ["13800000021", "13800000023"]
    assert all("尊敬的客户2" in s["text"] and "手机号码" in s["text"] for s in sms)
    mail = mailbox.messages[0].content.decode()
    assert "Subject:" in mail

    again = Step("send-again", "notify.customers", {"dry_run": False})
    assert (await engine.run_single(conn, settings, incident_id, again, "t")).state == "finished"
    assert len(mailbox.messages) == 2 and len(sms) == 2 == len(
        [post for post in receiver.posts if post["path"] == "/sms"])
    events = [e.summary for e in await store.timeline(conn, incident_id)]
    assert any("earlier 4" in e for e in events)
    await engine.release(conn, settings, incident_id, "t")
