"""EMAIL_ADDRESS: e-mail addresses, checked offline (no public-suffix download)."""

from __future__ import annotations

from gateway.detect.recognizers.base import ChineseRecognizer

# The local part is ASCII only, so a Chinese label written right before the address
# ("邮箱zhangsan@x.cn") is never taken into it.
_LOCAL = r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}"
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])"


class EmailRecognizer(ChineseRecognizer):
    """local@domain.tld with label and length rules; the TLD is checked for shape only."""

    ENTITY = "EMAIL_ADDRESS"
    PATTERNS = (("email", _LOCAL + "@" + _DOMAIN, 0.85),)
    CONTEXT = ("邮箱", "邮件", "电邮", "email", "mail", "yx")
    PREFILTER = r"[A-Za-z0-9]@[A-Za-z0-9]"

    def valid(self, value: str) -> bool:
        local, _, domain = value.rpartition("@")
        return ".." not in local and not local.endswith(".") and len(domain) <= 253
