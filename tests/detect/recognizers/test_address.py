"""When/then: CN_ADDRESS."""

import pytest

CASES = [
    ("我住在北京市朝阳区建国路88号院3号楼1201室，谢谢", ["北京市朝阳区建国路88号院3号楼1201室"]),
    ("寄到广东省深圳市南山区深南大道10000号", ["广东省深圳市南山区深南大道10000号"]),
    ("收货地址：杭州市西湖区文三路478号华星时代广场", ["杭州市西湖区文三路478号华星时代广场"]),
    ("四川省成都市双流区东升镇白家村3组", ["四川省成都市双流区东升镇白家村3组"]),
    ("地址：朝阳区建国路88号", ["朝阳区建国路88号"]),  # no province: context needed
    ("家住海淀区中关村大街27号", ["海淀区中关村大街27号"]),
    ("会议在朝阳区举行", []),
    ("北京市天气晴", []),
    ("沿建国路直行", []),
]


@pytest.mark.parametrize("text, expected", CASES)
def test_address(find_entity, text, expected):
    assert find_entity(text, "CN_ADDRESS") == expected
