"""CN_ADDRESS: postal addresses built from province, city, district, street and number."""

from __future__ import annotations

from gateway.detect.lexicon import CITIES, PROVINCE_SUFFIX, PROVINCES
from gateway.detect.recognizers.base import ChineseRecognizer
from gateway.detect.text import CJK

# Characters that end the words before an address ("住在", "寄到", "地址：") and so never
# start a place name; without word boundaries this keeps them out of the finding.
_NOT_PLACE = "在住于到是的址寄送往从我他她家为请和与及或需将把被"
_PLACE_CHAR = rf"(?![{_NOT_PLACE}])[{CJK}]"
_PLACE_START = rf"(?:(?<![{CJK}])|(?<=[{_NOT_PLACE}]))"

_PROVINCE = "(?:" + "|".join(
    f"{name}(?:{PROVINCE_SUFFIX.get(name, '省')})?" for name in PROVINCES.values()) + ")"
_CITY_NAME = "(?:" + "|".join(CITIES) + ")市"
_CITY = rf"[{CJK}]{{1,7}}?(?:市|自治州|地区|盟)"
_DISTRICT = rf"[{CJK}]{{1,6}}?(?:区|县|市|旗)"
_ROAD = rf"[{CJK}0-9A-Za-z]{{1,10}}?(?:大街|大道|路|街|道|巷|弄|胡同)"
_VILLAGE = rf"[{CJK}]{{1,6}}?(?:镇|乡|村)(?:[{CJK}]{{1,6}}?村)?"
_NUMBER = r"[0-9]{1,5}(?:-[0-9]{1,5})?号院?"
_UNIT = r"(?:[0-9A-Za-z]{1,5}|[东南西北中甲乙丙丁])(?:号楼|栋|幢|座|单元|楼|层|室)"
_ESTATE = rf"[{CJK}]{{2,8}}?(?:小区|花园|大厦|广场|公寓|苑|院)"
_DETAIL = rf"(?:{_UNIT}|{_ESTATE})*"
_LOCAL = rf"(?:{_ROAD}{_NUMBER}|{_VILLAGE}(?:[0-9]{{1,3}}组)?(?:{_NUMBER})?){_DETAIL}"


class AddressRecognizer(ChineseRecognizer):
    """Anchored on a province or a known city, or district + street + number."""

    ENTITY = "CN_ADDRESS"
    PATTERNS = (
        ("province", rf"{_PROVINCE}(?:{_CITY})?{_DISTRICT}{_LOCAL}", 0.85),
        ("city", rf"{_CITY_NAME}{_DISTRICT}{_LOCAL}", 0.85),
        ("district", rf"{_PLACE_START}(?:{_PLACE_CHAR}){{1,5}}?(?:区|县){_ROAD}{_NUMBER}{_DETAIL}",
         0.55),
        ("region_only", rf"{_PROVINCE}(?:{_CITY})?{_DISTRICT}", 0.3),
    )
    CONTEXT = ("地址", "住址", "住在", "寄到", "送到", "收货", "家住", "居住", "户籍", "address",
               "addr", "dz", "location")
    # Every pattern needs a house number, a village, or a province name.
    PREFILTER = rf"[0-9]号|[镇乡村]|{_PROVINCE}"
