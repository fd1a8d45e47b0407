"""Each sink format against a real HTTP (or UDP) receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from gateway.alerts.model import Alert
from gateway.alerts.sinks import build
from gateway.alerts.sinks.base import DeliveryError
from gateway.alerts.sinks.generic_json import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

ALERT = Alert(rule="canary", severity="critical", summary="canary subject returned",
              principal="crm_app", purpose="customer_service",
              details={"explanation": "a honeytoken customer left the gateway", "hits": 1,
                       "table": "public.customers"})

SECRETS = {"HOOK_SECRET": "s3cret-for-tests"}


def _sink(receiver, fmt: str, **extra):
    entry = {"type": "webhook", "url": f"{receiver.url}/{fmt}", "format": fmt, **extra}
    (sink,) = build([entry], SECRETS.get)
    sink.backoff = 0.01
    return sink


async def test_alertmanager_format(receiver):
    sink = _sink(receiver, "alertmanager", link="http://dash.example/alerts")
    await sink.send(ALERT)
    body = json.loads(receiver.requests[0]["body"])
    (item,) = body["alerts"]
    assert body["version"] == "4" and item["status"] == "firing"
    assert item["labels"]["alertname"] == "canary" and item["labels"]["severity"] == "critical"
    assert item["annotations"]["hits"] == "1" and item["generatorURL"].startswith("http://dash")
    await sink.close()


async def test_alertmanager_api_push(receiver):
    sink = _sink(receiver, "alertmanager_api")
    await sink.send(ALERT)
    request = receiver.requests[0]
    (item,) = json.loads(request["body"])
    assert request["path"] == "/alertmanager_api/api/v2/alerts"
    assert item["labels"]["alertname"] == "canary" and item["endsAt"] > item["startsAt"]
    await sink.close()


async def test_json_signature_verifies(receiver):
    sink = _sink(receiver, "json", secret_env="HOOK_SECRET")
    await sink.send(ALERT)
    request = receiver.requests[0]
    stamp = request["headers"][TIMESTAMP_HEADER]
    expected = sign(SECRETS["HOOK_SECRET"], stamp, request["body"])
    assert hmac.compare_digest(request["headers"][SIGNATURE_HEADER], expected)
    assert json.loads(request["body"])["fingerprint"] == ALERT.fingerprint
    await sink.close()


async def test_dingtalk_url_is_signed(receiver):
    sink = _sink(receiver, "dingtalk", secret_env="HOOK_SECRET")
    await sink.send(ALERT)
    query = parse_qs(urlsplit(receiver.requests[0]["path"]).query)
    stamp, signature = query["timestamp"][0], query["sign"][0]
    secret = SECRETS["HOOK_SECRET"]
    mac = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
    assert base64.b64decode(signature) == mac  # parse_qs already undid the URL quoting
    assert json.loads(receiver.requests[0]["body"])["msgtype"] == "markdown"
    await sink.close()


@pytest.mark.parametrize("fmt,key", [("slack", "text"), ("wecom", "markdown")])
async def test_chat_formats(receiver, fmt, key):
    sink = _sink(receiver, fmt)
    await sink.send(ALERT)
    body = json.loads(receiver.requests[0]["body"])
    assert "canary subject returned" in json.dumps(body, ensure_ascii=False) and key in body
    await sink.close()


async def test_retries_keep_idempotency_key(receiver):
    receiver.statuses = [503, 502]
    sink = _sink(receiver, "json")
    await sink.send(ALERT)
    keys = {r["headers"]["Idempotency-Key"] for r in receiver.requests}
    assert len(receiver.requests) == 3 and keys == {ALERT.idempotency_key}
    await sink.close()


async def test_client_error_is_not_retried(receiver):
    receiver.statuses = [400]
    sink = _sink(receiver, "json")
    with pytest.raises(DeliveryError):
        await sink.send(ALERT)
    assert len(receiver.requests) == 1
    await sink.close()


async def test_syslog_cef_over_udp():
    got: asyncio.Queue[bytes] = asyncio.Queue()

    class Protocol(asyncio.DatagramProtocol):
        def datagram_received(self, data, addr):
            got.put_nowait(data)

    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        Protocol, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    (sink,) = build([{"type": "syslog", "address": f"127.0.0.1:{port}"}])
    await sink.send(ALERT)
    line = (await asyncio.wait_for(got.get(), 2)).decode()
    transport.close()
    assert line.startswith("<82>1 ") and "CEF:0|privacy-gateway|privacy-gateway|1|canary|" in line
    assert "suser=crm_app" in line and "cs1=customer_service" in line


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match=r"alerts\[0\]"):
        build([{"type": "webhook", "url": "http://x", "format": "fax"}])


async def test_syslog_cef_over_tcp():
    got: asyncio.Queue[bytes] = asyncio.Queue()

    async def handle(reader, writer):
        got.put_nowait(await reader.readline())
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    (sink,) = build([{"type": "syslog", "address": f"127.0.0.1:{port}", "protocol": "tcp"}])
    await sink.send(ALERT)
    line = (await asyncio.wait_for(got.get(), 2)).decode()
    server.close()
    assert line.endswith("\n") and "cs2=" + ALERT.fingerprint in line


async def test_syslog_unreachable_is_a_delivery_error():
    (sink,) = build([{"type": "syslog", "address": "127.0.0.1:1", "protocol": "tcp"}])
    with pytest.raises(DeliveryError):
        await sink.send(ALERT)
