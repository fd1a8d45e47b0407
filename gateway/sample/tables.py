"""Reference tables the sample generators draw from: names, regions, streets, prefixes, BINs."""

from __future__ import annotations

from typing import NamedTuple


class Region(NamedTuple):
    """A county-level division: its GB/T 2260 code and the names an address is built from."""

    code: str
    province: str
    city: str  # empty for the municipalities, whose province name is the city
    district: str


# (surname, pinyin, weight): weights roughly follow published surname frequencies (per
# mille); the two-character surnames are rare but present, as they are in real data.
SURNAMES: tuple[tuple[str, str, float], ...] = (
    ("王", "wang", 71), ("李", "li", 70), ("张", "zhang", 66), ("刘", "liu", 54),
    ("陈", "chen", 45), ("杨", "yang", 31), ("黄", "huang", 22), ("赵", "zhao", 20),
    ("吴", "wu", 20), ("周", "zhou", 19), ("徐", "xu", 15), ("孙", "sun", 15),
    ("马", "ma", 12), ("朱", "zhu", 12), ("胡", "hu", 11), ("郭", "guo", 11),
    ("何", "he", 10), ("林", "lin", 10), ("高", "gao", 10), ("罗", "luo", 9),
    ("郑", "zheng", 9), ("梁", "liang", 8), ("谢", "xie", 7), ("宋", "song", 6),
    ("唐", "tang", 6), ("许", "xu", 6), ("韩", "han", 6), ("冯", "feng", 6),
    ("邓", "deng", 6), ("曹", "cao", 5), ("彭", "peng", 5), ("曾", "zeng", 5),
    ("肖", "xiao", 5), ("田", "tian", 5), ("董", "dong", 5), ("袁", "yuan", 4),
    ("潘", "pan", 4), ("于", "yu", 4), ("蒋", "jiang", 4), ("蔡", "cai", 4),
    ("余", "yu", 4), ("杜", "du", 4), ("叶", "ye", 4), ("程", "cheng", 4),
    ("苏", "su", 3), ("魏", "wei", 3), ("吕", "lv", 3), ("丁", "ding", 3),
    ("任", "ren", 3), ("沈", "shen", 3), ("姚", "yao", 3), ("卢", "lu", 3),
    ("姜", "jiang", 3), ("崔", "cui", 3), ("钟", "zhong", 3), ("谭", "tan", 3),
    ("陆", "lu", 3), ("汪", "wang", 3), ("范", "fan", 3), ("金", "jin", 3),
    ("欧阳", "ouyang", 0.6), ("司马", "sima", 0.2), ("上官", "shangguan", 0.2),
    ("诸葛", "zhuge", 0.2), ("东方", "dongfang", 0.2), ("慕容", "murong", 0.1),
)

# Characters common in given names, with pinyin for e-mail local parts.
GIVEN_MALE: tuple[tuple[str, str], ...] = (
    ("伟", "wei"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("勇", "yong"),
    ("杰", "jie"), ("涛", "tao"), ("斌", "bin"), ("超", "chao"), ("明", "ming"),
    ("刚", "gang"), ("平", "ping"), ("辉", "hui"), ("鹏", "peng"), ("华", "hua"),
    ("飞", "fei"), ("鑫", "xin"), ("波", "bo"), ("宇", "yu"), ("浩", "hao"),
    ("凯", "kai"), ("健", "jian"), ("俊", "jun"), ("帆", "fan"), ("旭", "xu"),
    ("宁", "ning"), ("龙", "long"), ("阳", "yang"), ("建", "jian"), ("国", "guo"),
    ("志", "zhi"), ("文", "wen"), ("博", "bo"), ("子", "zi"), ("轩", "xuan"),
    ("晨", "chen"), ("嘉", "jia"), ("豪", "hao"), ("振", "zhen"), ("海", "hai"),
)
GIVEN_FEMALE: tuple[tuple[str, str], ...] = (
    ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("艳", "yan"), ("娟", "juan"), ("霞", "xia"), ("秀", "xiu"), ("玲", "ling"),
    ("英", "ying"), ("丹", "dan"), ("萍", "ping"), ("红", "hong"), ("燕", "yan"),
    ("琳", "lin"), ("雪", "xue"), ("婷", "ting"), ("倩", "qian"), ("颖", "ying"),
    ("慧", "hui"), ("佳", "jia"), ("欣", "xin"), ("怡", "yi"), ("梦", "meng"),
    ("思", "si"), ("雨", "yu"), ("璐", "lu"), ("晶", "jing"), ("月", "yue"),
    ("瑶", "yao"), ("洁", "jie"), ("蕾", "lei"), ("薇", "wei"), ("婉", "wan"),
)

# Mobile number segments assigned to the three operators (and a few MVNO segments).
MOBILE_PREFIXES: tuple[str, ...] = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139",
    "145", "147", "150", "151", "152", "153", "155", "156", "157", "158", "159",
    "166", "170", "171", "173", "175", "176", "177", "178",
    "180", "181", "182", "183", "184", "185", "186", "187", "188", "189",
    "191", "193", "195", "196", "197", "198", "199",
)

# UnionPay issuer prefixes (62 BIN range) with the card lengths those issuers use.
UNIONPAY_BINS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("622202", (19,)), ("622848", (19,)), ("621700", (19,)), ("622588", (16,)),
    ("621226", (19,)), ("622700", (19,)), ("621661", (19,)), ("622262", (19,)),
    ("623058", (19,)), ("622155", (16,)), ("625807", (16,)), ("628288", (16,)),
    ("621483", (16,)), ("622908", (18,)), ("621799", (19,)),
)

REGIONS: tuple[Region, ...] = (
    Region("110101", "北京市", "", "东城区"), Region("110105", "北京市", "", "朝阳区"),
    Region("110108", "北京市", "", "海淀区"), Region("120101", "天津市", "", "和平区"),
    Region("310101", "上海市", "", "黄浦区"), Region("310104", "上海市", "", "徐汇区"),
    Region("310115", "上海市", "", "浦东新区"), Region("500103", "重庆市", "", "渝中区"),
    Region("440103", "广东省", "广州市", "荔湾区"), Region("440106", "广东省", "广州市", "天河区"),
    Region("440304", "广东省", "深圳市", "福田区"), Region("440305", "广东省", "深圳市", "南山区"),
    Region("330102", "浙江省", "杭州市", "上城区"), Region("330106", "浙江省", "杭州市", "西湖区"),
    Region("320102", "江苏省", "南京市", "玄武区"), Region("320506", "江苏省", "苏州市", "吴中区"),
    Region("510104", "四川省", "成都市", "锦江区"), Region("510107", "四川省", "成都市", "武侯区"),
    Region("420106", "湖北省", "武汉市", "武昌区"), Region("610113", "陕西省", "西安市", "雁塔区"),
    Region("370102", "山东省", "济南市", "历下区"), Region("370202", "山东省", "青岛市", "市南区"),
    Region("430104", "湖南省", "长沙市", "岳麓区"), Region("350203", "福建省", "厦门市", "思明区"),
    Region("410105", "河南省", "郑州市", "金水区"), Region("210102", "辽宁省", "沈阳市", "和平区"),
    Region("340104", "安徽省", "合肥市", "蜀山区"), Region("530102", "云南省", "昆明市", "五华区"),
)

STREETS: tuple[str, ...] = (
    "人民路", "解放路", "中山路", "建设路", "和平路", "长江路", "文化路", "新华路",
    "青年路", "胜利路", "学府路", "光明街", "东风路", "朝阳大街", "迎宾大道", "滨江路",
)

EMAIL_DOMAINS: tuple[str, ...] = (
    "qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "outlook.com",
    "gmail.com", "139.com", "aliyun.com", "yeah.net",
)

ORDER_STATUSES: tuple[tuple[str, float], ...] = (
    ("completed", 60), ("shipped", 12), ("paid", 10), ("refunded", 8), ("cancelled", 10),
)
