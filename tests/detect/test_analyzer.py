"""The analyzer: offline start, context words for Chinese, parity with presidio's engine."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
import spacy

from gateway.detect.analyzer import Detector, Finding, resolve_findings, to_findings
from gateway.detect.recognizers import LANGUAGE
from gateway.detect.registry import ENTITIES, UnknownEntity, build_registry

TEXTS = [
    "客户手机13812345678请回电，邮箱zhangsan@example.com",
    "身份证11010519491231002X，卡号6222021234567890128",
    "寄到广东省深圳市南山区深南大道10000号，收件人：欧阳娜娜",
    "登录IP 192.168.1.20，车牌京A12345，护照E12345678",
    "统一社会信用代码91110000600037341L，座机010-62345678",
    "没有任何个人信息的一句话。",
]


def test_starts_and_analyzes_without_network_or_model(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the analyzer tried to reach the network or load a model")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(spacy, "load", refuse)
    detector = Detector()
    found = detector.find("邮箱zhangsan@example.com，网址 https://www.example.org/x")
    assert [f.entity for f in found] == ["EMAIL_ADDRESS"]
    assert detector.engine.analyze(text="邮箱a@b.cn", language=LANGUAGE)


def test_registry_holds_only_our_recognizers():
    registry = build_registry()
    assert sorted(r.supported_entities[0] for r in registry.recognizers) == sorted(ENTITIES)
    with pytest.raises(UnknownEntity):
        build_registry(["CN_MOBILE", "PHONE_NUMBR"])


@pytest.mark.parametrize("text", TEXTS)
def test_find_agrees_with_presidio_engine(detector, text):
    results = detector.engine.analyze(text=text, language=LANGUAGE)
    assert detector.find(text) == to_findings(results, detector.threshold)


@pytest.mark.parametrize("value, label, context, entity", [
    ("01062345678", "座机", None, "CN_LANDLINE"),  # context word in the text
    ("01062345678", "", ["office_tel"], "CN_LANDLINE"),  # column name as context
    ("01062345678", "", ["座机号码"], "CN_LANDLINE"),
    ("4305751234567891", "", ["银行卡号"], "CN_BANK_CARD"),
    ("4305751234567891", "信用卡：", None, "CN_BANK_CARD"),
    ("G12345678", "", ["passport_no"], "CN_PASSPORT"),
    ("110105491231002", "身份证", None, "CN_ID_CARD"),
])
def test_context_raises_weak_matches(detector, value, label, context, entity):
    assert detector.find(value) == []
    assert [f.entity for f in detector.find(label + value, context)] == [entity]


def test_context_far_away_does_not_count(detector):
    text = "座机" + "，这是一段很长的与号码无关的说明文字" + "01062345678"
    assert detector.find(text) == []


def test_overlaps_keep_the_stronger_finding():
    findings = [Finding("CN_BANK_CARD", 0, 18, 0.85), Finding("CN_ID_CARD", 0, 18, 0.95),
                Finding("CN_MOBILE", 20, 31, 0.7), Finding("CN_LANDLINE", 25, 31, 0.6)]
    assert resolve_findings(findings) == [findings[1], findings[2]]


def test_a_fresh_process_starts_offline(tmp_path):
    """Import, build and analyze in a new interpreter whose sockets refuse to connect."""
    script = tmp_path / "offline.py"
    script.write_text(
        "import socket\n"
        "def refuse(*a, **k):\n"
        "    raise OSError('network used')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "from gateway.detect.analyzer import Detector\n"
        "text = '邮箱zhangsan@example.com 网址 https://example.org 手机13812345678'\n"
        "found = Detector().find(text)\n"
        "print(sorted(f.entity for f in found))\n", encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "['CN_MOBILE', 'EMAIL_ADDRESS']"
