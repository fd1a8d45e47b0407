"""Word lists the Chinese recognizers share: regions, cities, surnames, given-name characters."""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# GB/T 2260 province-level codes (the first two digits of ID numbers and of the division
# code inside a USCC); 83 is used by residence permits of Taiwan residents.
PROVINCES: dict[str, str] = {
    "11": "北京", "12": "天津", "13": "河北", "14": "山西", "15": "内蒙古",
    "21": "辽宁", "22": "吉林", "23": "黑龙江", "31": "上海", "32": "江苏",
    "33": "浙江", "34": "安徽", "35": "福建", "36": "江西", "37": "山东",
    "41": "河南", "42": "湖北", "43": "湖南", "44": "广东", "45": "广西",
    "46": "海南", "50": "重庆", "51": "四川", "52": "贵州", "53": "云南",
    "54": "西藏", "61": "陕西", "62": "甘肃", "63": "青海", "64": "宁夏",
    "65": "新疆", "71": "台湾", "81": "香港", "82": "澳门",
}
REGION_PREFIXES: frozenset[str] = frozenset(PROVINCES) | {"83"}

# The suffix each province-level name takes in a full address.
PROVINCE_SUFFIX: dict[str, str] = {
    "北京": "市", "天津": "市", "上海": "市", "重庆": "市",
    "内蒙古": "自治区", "广西": "壮族自治区", "西藏": "自治区", "宁夏": "回族自治区",
    "新疆": "维吾尔自治区", "香港": "特别行政区", "澳门": "特别行政区",
}

# Prefecture-level cities an address may start with when the province is left out.
CITIES: tuple[str, ...] = _words("""
石家庄 唐山 保定 邯郸 太原 大同 呼和浩特 包头 沈阳 大连 鞍山 长春 哈尔滨 大庆 南京 苏州
无锡 常州 南通 徐州 扬州 杭州 宁波 温州 嘉兴 绍兴 金华 台州 合肥 芜湖 福州 厦门 泉州 南昌
赣州 济南 青岛 烟台 潍坊 临沂 淄博 郑州 洛阳 开封 武汉 宜昌 襄阳 长沙 株洲 岳阳 广州 深圳
珠海 佛山 东莞 中山 惠州 汕头 湛江 南宁 柳州 桂林 海口 三亚 成都 绵阳 德阳 宜宾 贵阳 遵义
昆明 大理 拉萨 西安 宝鸡 咸阳 兰州 西宁 银川 乌鲁木齐 喀什
""")

# One-character province abbreviations that start a licence plate.
PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"

COMPOUND_SURNAMES: tuple[str, ...] = _words("""
欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 令狐 端木 百里 呼延 独孤
南宫 西门 申屠 轩辕 澹台 钟离 闻人 赫连 万俟 太史
""")

# The common single-character surnames (they cover most of the population).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺"
    "顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿"
    "关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华"
    "喻祁蒲房滕屈饶解牟艾尤阳穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿"
    "桂全佟应臧闵苟邬边卞姬师仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩佘池查麻苑迟邝萧揭蓝"
)

# Characters common in given names. Words that often follow a name in a sentence
# (请, 的, 在, 来, 说 ...) and time words (今, 昨, 日, 年) are left out on purpose, so
# that "客户张三请回电" ends the name before 请.
GIVEN_NAME_CHARS = "".join(sorted(set(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英霞平刚桂兰华红玉萍建国文辉鑫宇浩然子涵轩博晨欣"
    "怡雨梓萱思琪佳嘉诺欢悦婷雪琳晶颖慧倩玲燕丹凤梅莉蕾薇璐瑶婧妍彤馨蕊露洁淑贞珍翠云春秋"
    "冬夏松柏林森峰山海江河波鹏飞龙虎鸿俊健斌彬昊天宏志忠诚信义德仁礼智勤振兴旺福禄寿喜"
    "庆安宁康泰祥瑞吉荣贵富金银铭锐锋钧岩石坤乾立新东南中正清源润泽溪沛洪渊深鸣乐亮光阳晖"
    "旭昕晓曦星辰宸景晴雯霖雷震威武斯凯学书诗雅琴韵美灵巧珊瑜琼瑾璇琦珂菲芬芸芝莹茜菁蓉"
    "荷莲菊梦若依可心意语卓越远航帆舟凡和顺达永长久恒卫兵民生力豪雄彦毅睿哲逸骏驰腾跃翔"
    "鹤少桐楠柳艺冰娇媛嫣姝婉妮娅宝贝佩冉宜爽香素芹娥霏岚菡蓓晗琛楷钰铎锦臻熙煜烨炜玮珏"
    "琰昱晟皓骁弘泓澄沐霆秀梁栋亭玥蕙嫦桦淼鑫晋朗轶琨琪怀维三四一懿芊茗朵"
)))

# Words after which a name usually follows in customer-service notes and forms.
NAME_CUES: tuple[str, ...] = _words("""
客户 姓名 联系人 收件人 收货人 寄件人 我是 我叫 名叫 叫做 持卡人 户名 患者 本人 用户 会员
家属 配偶 丈夫 妻子 父亲 母亲 儿子 女儿 经办人 申请人 法人 负责人 业主 租客 乘客 投诉人
来电人 称呼 学生 员工 同事 朋友 开户人 借款人 担保人 已与 并与 转告 告知 通知 致电 委托 交由
代办人
""")

# Verbs that follow a name at the start of a note ("张伟来电投诉").
NAME_FOLLOWERS: tuple[str, ...] = _words("""
来电 致电 反映 投诉 表示 称 要求 询问 咨询 确认 同意 拒绝 签收 已签收 本人
""")

# Titles that follow a name ("张伟先生").
NAME_TITLES: tuple[str, ...] = ("先生", "女士", "小姐", "老师", "同学", "经理", "师傅")
