"""Customer-service notes (客服备注): mostly plain text, about one in five with personal data."""

from __future__ import annotations

import random
from collections.abc import Callable

from gateway.sample import generators as gen

# Share of notes that carry a phone number, ID number, card number or e-mail address.
PII_SHARE = 0.2

PLAIN: tuple[str, ...] = (
    "客户来电咨询退货流程，已解答。",
    "要求将收货时间改为周末，已备注。",
    "对物流速度不满意，已安抚并发放优惠券。",
    "咨询会员积分规则及兑换方式。",
    "反映商品包装破损，已登记补发。",
    "回访满意度：满意。",
    "要求开具电子发票，已转财务处理。",
    "取消订单原因：重复下单。",
    "询问售后维修网点地址，已告知。",
    "投诉客服响应慢，已升级至组长跟进。",
    "客户表示暂不需要营销短信。",
    "第二次来电催促发货，已联系仓库加急。",
    "咨询分期付款手续费，已说明。",
    "客户称已收到退款，结单。",
)

# Templates whose slot is filled with a value of the named kind.
WITH_PII: tuple[tuple[str, str], ...] = (
    ("客户要求改用备用号码{}联系。", "mobile"),
    ("家属电话{}，白天方便接听。", "mobile"),
    ("快递员无法联系，客户留新手机号{}。", "mobile"),
    ("客户提供身份证号{}用于实名核验。", "id_no"),
    ("退款请打到卡号{}，已转财务。", "card"),
    ("发票请发送至邮箱{}。", "email"),
    ("客户来电，回拨号码：{}，要求尽快处理。", "mobile"),
    ("客户口述新手机 {}，请核对后更新。", "mobile_spoken"),
)



def _someone_id_number(rng: random.Random) -> str:
    return gen.id_number(rng, gen.region(rng), gen.birth_date(rng), rng.random() < 0.5)


def _spoken_mobile(rng: random.Random) -> str:
    # as an agent types a number read out on the phone: in groups (only a detector, or
    # masking that fails closed, finds it)
    number, sep = gen.mobile(rng), rng.choice((" ", "-"))
    return sep.join((number[:3], number[3:7], number[7:]))


def _someone_email(rng: random.Random) -> str:
    return gen.email(rng, gen.person_name(rng, rng.random() < 0.5), gen.birth_date(rng))


# Values in notes are someone's (a relative's, a new number): not tied to the row's customer.
_FILLERS: dict[str, Callable[[random.Random], str]] = {
    "mobile": gen.mobile,
    "mobile_spoken": _spoken_mobile,
    "card": gen.unionpay_card,
    "id_no": _someone_id_number,
    "email": _someone_email,
}


def note(rng: random.Random) -> str:
    """One customer-service note; PII_SHARE of them name a phone, ID, card or e-mail."""
    if rng.random() >= PII_SHARE:
        return rng.choice(PLAIN)
    template, kind = rng.choice(WITH_PII)
    return template.format(_FILLERS[kind](rng))
