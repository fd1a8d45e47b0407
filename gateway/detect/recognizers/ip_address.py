"""IP_ADDRESS: IPv4 and IPv6 addresses."""

from __future__ import annotations

import ipaddress

from gateway.detect.recognizers.base import ChineseRecognizer

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_V4 = rf"(?<![0-9A-Za-z.]){_OCTET}(?:\.{_OCTET}){{3}}(?![0-9A-Za-z]|\.[0-9])"
_V6 = r"(?<![0-9A-Za-z:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Za-z:])"


class IpAddressRecognizer(ChineseRecognizer):
    """Dotted quads and colon-hex groups, confirmed by the ipaddress module."""

    ENTITY = "IP_ADDRESS"
    PATTERNS = (("ipv4", _V4, 0.6), ("ipv6", _V6, 0.6))
    CONTEXT = ("ip", "地址", "登录", "访问", "主机", "host", "服务器")
    PREFILTER = r"[0-9]\.[0-9]{1,3}\.[0-9]|[0-9A-Fa-f]?:[0-9A-Fa-f]{0,4}:"

    def valid(self, value: str) -> bool:
        if ":" in value and ("::" not in value and value.count(":") != 7):
            return False
        try:
            ipaddress.ip_address(value)
        except ValueError:
            return False
        return len(value) > 2

    def adjust(self, value: str, score: float) -> float:
        # 1.2.3.4 reads like a version number; it needs context to count.
        if "." in value and all(len(part) == 1 for part in value.split(".")):
            return 0.3
        return score
