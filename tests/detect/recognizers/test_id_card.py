"""When/then: CN_ID_CARD."""

import pytest

CASES = [
    # when the text is ...                               then these are ID numbers
    ("身份证号11010519491231002X，请核实", ["11010519491231002X"]),
    ("证件:44030419900307123x", ["44030419900307123x"]),
    ("号码 620102198506123455", ["620102198506123455"]),
    ("身份证５１０１０７２００１０１０１５６７１已登记", ["５１０１０７２００１０１０１５６７１"]),
    ("身份证 110105 19491231 002X", ["110105 19491231 002X"]),
    ("老身份证110105491231002", ["110105491231002"]),  # 15-digit legacy, with context
    ("编号110105491231002", []),  # 15 digits and no context: not taken
    ("身份证号11010519491231002Y", []),
    ("身份证号110105194912310021", []),  # wrong check digit
    ("身份证号110105194913310029", []),  # month 13
    ("身份证号990105194912310023", []),  # region 99 does not exist
    ("订单2110105194912310029", []),  # 19 digits: part of a longer number
    ("11010519491231002X1", []),
]


@pytest.mark.parametrize("text, expected", CASES)
def test_id_card(find_entity, text, expected):
    assert find_entity(text, "CN_ID_CARD") == expected
