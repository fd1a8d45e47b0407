"""Labelled corpus for the detection benchmark: valid values in Chinese sentences, hard negatives.

Run `python bench/detect_corpus.py OUT.jsonl [--per-entity N]` to write it as JSON lines
({"text", "spans": [[entity, start, end], ...], "kind"}); detect_bench.py builds it in
memory with the same seed. Values are generated with correct check digits; word lists
here are independent of the recognizers' own lists, so recall on names and addresses
is measured, not assumed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import string
from collections.abc import Callable, Iterator

from gateway.detect.checksums import id_card_check_char, luhn_check_digit, uscc_check_char

Item = dict  # {"text": str, "spans": [[entity, start, end]], "kind": str}

WIDE = str.maketrans(string.digits, "０１２３４５６７８９")
REGIONS = ("110105", "310115", "440305", "330106", "510107", "320583", "420106", "610113",
           "370202", "210102", "350203", "620102", "650102", "450103", "130102", "410105")
MOBILE_PREFIXES = ("130", "131", "135", "136", "138", "139", "150", "151", "152", "157", "158",
                   "159", "166", "177", "180", "181", "186", "187", "188", "189", "191", "199")
UNASSIGNED = ("100", "105", "110", "112", "120", "127", "140", "141", "144", "154", "160",
              "161", "164", "169", "174", "179", "194")
BINS = ("622202", "622848", "621700", "622588", "621483", "622700", "623058", "625965")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘蒋蔡杜叶"
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国"
         "玉萍红文辉鑫宇浩俊晨欣怡梓涵子轩一诺雨琪思远嘉懿")
PLACES = (("北京市", "", "朝阳区"), ("上海市", "", "浦东新区"),
          ("广东省", "深圳市", "南山区"), ("浙江省", "杭州市", "西湖区"),
          ("四川省", "成都市", "武侯区"), ("江苏省", "南京市", "鼓楼区"),
          ("湖北省", "武汉市", "洪山区"), ("山东省", "青岛市", "市南区"),
          ("天津市", "", "河西区"), ("陕西省", "西安市", "雁塔区"),
          ("福建省", "厦门市", "思明区"), ("河南省", "郑州市", "金水区"))
ROADS = ("建国路", "人民路", "解放大道", "中山北路", "科技园南路", "文三路", "长江路",
         "和平街", "滨河大道")
PLATES = "京沪粤浙苏川鄂鲁津陕闽豫"


def id_card(rng: random.Random) -> str:
    born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(20000))
    first17 = f"{rng.choice(REGIONS)}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + id_card_check_char(first17)


def mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def bank_card(rng: random.Random) -> str:
    payload = rng.choice(BINS) + "".join(rng.choices(string.digits, k=rng.choice((9, 12))))
    return payload + luhn_check_digit(payload)


def uscc(rng: random.Random) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = rng.choice("159") + rng.choice("123") + rng.choice(REGIONS)
    body += "".join(rng.choices(alphabet, k=9))
    return body + (uscc_check_char(body) or "0")


def email(rng: random.Random) -> str:
    user = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9)))
    user += rng.choice(("", ".", "_")) + str(rng.randrange(100, 9999))
    return f"{user.strip('._')}@{rng.choice(('qq.com', '163.com', 'example.com.cn', 'corp.cn'))}"


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2, 2))))


def address(rng: random.Random) -> str:
    province, city, district = rng.choice(PLACES)
    head = rng.choice((province + city, city or province))
    tail = rng.choice(("", f"{rng.randint(1, 30)}栋{rng.randint(101, 2805)}室", "东座12层"))
    return f"{head}{district}{rng.choice(ROADS)}{rng.randint(1, 999)}号{tail}"


def local_address(rng: random.Random) -> str:
    """District and street only, as people write within one city."""
    return f"{rng.choice(PLACES)[2]}{rng.choice(ROADS)}{rng.randint(1, 999)}号"


def landline(rng: random.Random) -> str:
    area = rng.choice(("010", "021", "0755", "0571", "028"))
    local = str(rng.randint(2, 8)) + f"{rng.randrange(10**7):07d}"
    return f"{area}-{local}"


def plate(rng: random.Random) -> str:
    return rng.choice(PLATES) + rng.choice("ABCDEFG") + f"{rng.randrange(10**5):05d}"


def passport(rng: random.Random) -> str:
    return "E" + f"{rng.randrange(10**8):08d}"


def ip(rng: random.Random) -> str:
    return ".".join(str(rng.randint(1, 254)) for _ in range(4))


# entity -> (value generator, sentence templates); {} is where the value goes.
POSITIVE: dict[str, tuple[Callable[[random.Random], str], tuple[str, ...]]] = {
    "CN_ID_CARD": (id_card, ("客户提供身份证号{}用于实名核验。", "证件号码：{}", "{}是本人身份证",
                             "请核对{}与本人是否一致", "身份证{}，已验证")),
    "CN_MOBILE": (mobile, ("客户手机{}请回电", "联系电话：{}", "改用备用号码{}联系。", "{}打不通",
                           "家属电话{}，白天方便接听", "回电{}")),
    "CN_BANK_CARD": (bank_card, ("退款请打到卡号{}，已转财务。", "银行卡：{}", "尾号核对{}无误",
                                 "客户的卡{}被冻结", "{}为工资卡")),
    "CN_USCC": (uscc, ("统一社会信用代码{}", "开票信息：税号{}", "企业代码{}已备案",
                       "{}（营业执照）")),
    "EMAIL_ADDRESS": (email, ("发票请发送至邮箱{}。", "邮箱{}请回复", "联系{}获取资料",
                              "E-mail: {}")),
    "CN_PERSON_NAME": (person_name, ("客户{}来电投诉", "收件人：{}", "联系人{}已确认",
                                     "请转告{}先生", "姓名 {}，女", "我是{}，想咨询一下",
                                     "{}来电投诉物流", "已与{}核实订单")),  # last two: no cue
    "CN_ADDRESS": (address, ("收货地址：{}", "寄到{}，谢谢", "客户住在{}", "{}（公司）",
                             "新地址{}")),
    "CN_ADDRESS_LOCAL": (local_address, ("地址：{}", "家住{}", "送到{}，放门卫", "{}门店")),
    "CN_LANDLINE": (landline, ("办公电话{}", "座机：{}转8001", "传真{}", "请拨{}")),
    "CN_LICENSE_PLATE": (plate, ("车牌{}违停", "{}已登记入场", "车辆{}")),
    "CN_PASSPORT": (passport, ("护照号{}", "{}（护照）已过期")),
    "IP_ADDRESS": (ip, ("登录IP {} 异常", "来自{}的访问", "服务器{}宕机")),
}


def _negatives(rng: random.Random) -> Iterator[tuple[str, str]]:
    """(kind, text) hard negatives: numbers that look like identifiers and are not."""
    year = rng.randint(2019, 2025)
    yield "order_number", f"订单号{year}{rng.randrange(10**14):014d}已发货"
    yield "order_number", f"单号{year}{rng.randrange(10**12):012d}，请查收"
    yield "timestamp", f"创建时间{year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}" \
                       f"{rng.randrange(10**6):06d}"
    yield "timestamp", f"时间戳{rng.randint(1600000000000, 1800000000000)}"
    bad = id_card(rng)
    wrong = "0123456789X".replace(bad[-1], "")[rng.randrange(10)]
    yield "id_wrong_check", f"身份证号{bad[:-1]}{wrong}有误"
    yield "mobile_unassigned", f"号码{rng.choice(UNASSIGNED)}{rng.randrange(10**8):08d}"
    card = bank_card(rng)
    yield "card_luhn_fail", f"卡号{card[:-1]}{(int(card[-1]) + rng.randint(1, 9)) % 10}"
    yield "amount", f"金额{rng.randint(10**9, 10**11)}.{rng.randint(10, 99)}元"
    yield "amount", f"合计¥{rng.randint(1, 999)},{rng.randrange(1000):03d}.{rng.randint(0, 99):02d}"
    yield "tracking", f"快递单号SF{rng.randrange(10**12):012d}"
    code = uscc(rng)
    yield "uscc_wrong_check", f"信用代码{code[:-1]}{'0' if code[-1] != '0' else '1'}"
    yield "serial", "序列号" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=18))
    yield "name_like", rng.choice(("客户高度认可服务", "客户王府井店反馈缺货", "会员金卡到期提醒",
                                   "用户程序报错", "联系人变更为空", "客户方总监出差"))
    yield "address_like", rng.choice(("会议在北京市举行", "上海市场份额上升", "广东省内包邮",
                                      "朝阳区域经理到访", "沿人民路直行到底"))


def _wide(value: str, rng: random.Random) -> str:
    """Variants people type: full-width digits, grouped digits, country codes."""
    roll = rng.random()
    if roll < 0.08:
        return value.translate(WIDE)
    return value


def _vary(entity: str, value: str, rng: random.Random) -> tuple[str, int]:
    """A written form of the value and the offset of the labelled part inside it."""
    roll = rng.random()
    if entity == "CN_MOBILE" and roll < 0.15:
        return f"{value[:3]} {value[3:7]} {value[7:]}", 0
    if entity == "CN_MOBILE" and roll < 0.25:
        prefix = rng.choice(("+86 ", "+86", "0086", "0086-"))
        return prefix + value, len(prefix)
    if entity == "CN_BANK_CARD" and roll < 0.2:
        return " ".join(value[i:i + 4] for i in range(0, len(value), 4)), 0
    if entity == "CN_ID_CARD" and roll < 0.1:
        return value.lower(), 0
    return value, 0


def positives(rng: random.Random, entity: str, count: int) -> Iterator[Item]:
    make, templates = POSITIVE[entity]
    for _ in range(count):
        written, skip = _vary(entity, make(rng), rng)
        written = _wide(written, rng) if entity not in ("EMAIL_ADDRESS",) else written
        template = rng.choice(templates)
        start = template.index("{}") + skip
        text = template.format(written)
        label = "CN_ADDRESS" if entity == "CN_ADDRESS_LOCAL" else entity
        yield {"text": text, "spans": [[label, start, template.index("{}") + len(written)]],
               "kind": entity}


def corpus(per_entity: int = 500, seed: int = 20261127) -> list[Item]:
    """The whole labelled corpus: positives per entity, hard negatives, mixed sentences."""
    rng = random.Random(seed)
    items = [item for entity in POSITIVE for item in positives(rng, entity, per_entity)]
    for _ in range(per_entity):
        items.extend({"text": text, "spans": [], "kind": kind} for kind, text in _negatives(rng))
    for _ in range(per_entity):  # two entities in one note
        a, b = next(positives(rng, "CN_MOBILE", 1)), next(positives(rng, "CN_ID_CARD", 1))
        shift = len(a["text"]) + 1
        spans = a["spans"] + [[e, s + shift, t + shift] for e, s, t in b["spans"]]
        items.append({"text": a["text"] + "，" + b["text"], "spans": spans, "kind": "mixed"})
    return items


def independent(per_entity: int = 500, seed: int = 99) -> list[Item]:
    """Values from the demo database's generators (their own name, region and street
    lists), in this corpus's sentence templates: a check the recognizers were not tuned on."""
    from gateway.sample import generators as gen

    rng = random.Random(seed)

    def someone() -> tuple:
        return gen.region(rng), gen.birth_date(rng), rng.random() < 0.5

    makers: dict[str, Callable[[random.Random], str]] = {
        "CN_PERSON_NAME": lambda r: gen.person_name(r, r.random() < 0.5).text,
        "CN_ADDRESS": lambda r: gen.address(r, gen.region(r)),
        "CN_MOBILE": gen.mobile,
        "CN_BANK_CARD": gen.unionpay_card,
        "CN_ID_CARD": lambda r: gen.id_number(r, *someone()),
        "EMAIL_ADDRESS": lambda r: gen.email(r, gen.person_name(r, True), gen.birth_date(r)),
    }
    items = []
    for entity, make in makers.items():
        templates = POSITIVE[entity][1]
        for _ in range(per_entity):
            value, template = make(rng), rng.choice(templates)
            start = template.index("{}")
            items.append({"text": template.format(value),
                          "spans": [[entity, start, start + len(value)]], "kind": entity})
    return items


PLAIN = ("客户来电咨询退货流程，已解答。", "要求将收货时间改为周末。",
         "对物流速度不满意，已安抚。", "咨询会员积分规则及兑换方式。",
         "反映商品包装破损，已登记补发。", "回访满意度：满意。", "取消订单原因：重复下单。",
         "第二次来电催促发货，已联系仓库加急。", "咨询分期付款手续费，已说明。",
         "客户称已收到退款，结单。", "预约周三上午安装", "发票抬头有误，需重开",
         "商品编号A-203 缺货")


def plain_cells(count: int, seed: int = 7) -> list[str]:
    """Distinct short cells with no personal information (some with small numbers)."""
    rng = random.Random(seed)
    extras = ("", "", "，谢谢", "，已处理", f"（第{rng.randint(2, 9)}次）", "，金额35.00元",
              "，2024-05-01")
    return [rng.choice(PLAIN) + rng.choice(extras) + rng.choice(GIVEN) * (i % 3) + str(i % 10)
            for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--per-entity", type=int, default=500)
    args = parser.parse_args()
    with open(args.out, "w", encoding="utf-8") as file:
        for item in corpus(args.per_entity):
            file.write(json.dumps(item, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
