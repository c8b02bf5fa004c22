"""A region is the administrative path from the province down, whatever the
report prints; filters are read the same way."""

from __future__ import annotations

import pytest

from ogi.gazetteer import Gazetteer, full_region, gazetteer, region_matches, region_prefixes, table_paths
from services.ingest.registry import load_registry


@pytest.mark.parametrize(
    ("printed", "path"),
    [
        ("杭州市拱墅区", "浙江省杭州市拱墅区"),  # city and district: the province is added
        ("杭州市", "浙江省杭州市"),
        ("洪泽区", "江苏省淮安市洪泽区"),  # a county-level name alone
        ("平潭县", "福建省福州市平潭县"),
        ("浙江省拱墅区", "浙江省杭州市拱墅区"),  # a skipped level is filled in
        ("北京市朝阳区", "北京市朝阳区"),  # municipality: no prefecture level
        ("吉林市", "吉林省吉林市"),  # not the province of the same name
        ("下城区", "浙江省杭州市下城区"),  # merged away in 2021, printed in earlier reports
        ("临平区", "浙江省杭州市临平区"),  # made in 2021
        ("平潭综合实验区", "福建省平潭综合实验区"),  # a functional zone, no GB/T 2260 division
        ("浙江省杭州市拱墅区", "浙江省杭州市拱墅区"),  # already full: unchanged
        ("杭州市拱墅区 ", "浙江省杭州市拱墅区"),
    ],
)
def test_a_printed_region_becomes_its_full_path(printed: str, path: str) -> None:
    assert full_region(printed) == path


@pytest.mark.parametrize(
    ("printed", "path"),
    [
        ("廣東省廣州市", "广东省广州市"),
        ("廣州市", "广东省广州市"),
        ("杭州市拱墅區", "浙江省杭州市拱墅区"),
        (
            "乾安縣",
            "吉林省松原市乾安县",
        ),  # t2s reads 乾 as 干: the name still resolves, spelled as the table spells it
        ("乾安县", "吉林省松原市乾安县"),
    ],
)
def test_traditional_characters(printed: str, path: str) -> None:
    assert full_region(printed) == path


def test_a_name_in_two_provinces_is_not_guessed() -> None:
    assert full_region("鼓楼区") == "鼓楼区"  # 南京, 徐州 (江苏), 福州 (福建), 开封 (河南)
    assert full_region("朝阳区") == "朝阳区"  # 北京, 长春
    assert full_region("城区") == "城区"


def test_a_name_in_two_places_of_one_province_keeps_the_province() -> None:
    # 庐江县 was under 巢湖市 until 2011, 合肥市 since: the province is known, the prefecture is not
    assert full_region("庐江县") == "安徽省庐江县"
    assert (
        full_region("巢湖市") == "安徽省巢湖市"
    )  # a prefecture until 2011, a county-level city of 合肥 since


def test_the_registry_places_the_printed_name() -> None:
    assert full_region("鼓楼区", "福建省福州市") == "福建省福州市鼓楼区"
    assert full_region("庐江县", "安徽省合肥市") == "安徽省合肥市庐江县"
    assert full_region("拱墅区", "浙江省杭州市") == "浙江省杭州市拱墅区"


def test_registry_and_printed_region_combine_without_losing_the_province() -> None:
    assert full_region("杭州市拱墅区", "浙江省杭州市拱墅区") == "浙江省杭州市拱墅区"
    assert full_region("杭州市", "浙江省杭州市拱墅区") == "浙江省杭州市拱墅区"  # the source knows more
    assert full_region(None, "浙江省杭州市") == "浙江省杭州市"
    assert full_region("杭州市拱墅区", None) == "浙江省杭州市拱墅区"
    # a zone no table names lies within its source's region
    assert full_region("威海火炬高技术产业开发区", "山东省威海市") == "山东省威海市威海火炬高技术产业开发区"
    # a printed prefix that only repeats the source's places adds nothing
    assert full_region("国家税务总局杭州市", "浙江省杭州市") == "浙江省杭州市"
    # same province, another branch: the report names its own agency more closely
    assert full_region("平潭县", "福建省平潭综合实验区") == "福建省福州市平潭县"
    # another province: the source's region stands
    assert full_region("广州市", "浙江省杭州市") == "浙江省杭州市"


def test_what_no_table_names_is_kept_as_printed() -> None:
    assert full_region("样例市", "样例市") == "样例市"
    assert full_region("样例市") == "样例市"
    assert full_region(None) is None
    assert full_region("", None) is None
    assert full_region("杭州市拱墅区某某") == "浙江省杭州市拱墅区某某"


def test_filters_are_read_like_regions() -> None:
    stored = "浙江省杭州市拱墅区"
    for f in (
        "浙江",
        "浙江省",
        "杭州",
        "杭州市",
        "浙江杭州",
        "拱墅",
        "拱墅区",
        "浙江省杭州市拱墅区",
        "杭州市拱墅區",
    ):
        assert region_matches(stored, [f]), f
    for f in ("江苏", "湖州", "杭州市西湖区", "拱墅区某某"):
        assert not region_matches(stored, [f]), f
    assert region_matches("广西壮族自治区南宁市", ["广西"])
    assert region_matches("内蒙古自治区呼和浩特市", ["内蒙古"])
    assert region_matches("广东省广州市", ["廣東"])
    assert not region_matches(None, ["浙江"])
    assert region_matches("样例市", ["样例"])  # a region the gazetteer could not place matches as typed


def test_an_ambiguous_filter_matches_each_place_it_may_mean() -> None:
    prefixes = region_prefixes("鼓楼区")
    assert {"江苏省南京市鼓楼区", "福建省福州市鼓楼区", "河南省开封市鼓楼区"} <= set(prefixes)
    assert "鼓楼区" in prefixes  # and the stored regions left as printed


def test_prefixes_are_minimal() -> None:
    assert region_prefixes("浙江") == ("浙江",)  # 浙江 already covers 浙江省
    assert region_prefixes("杭州") == ("杭州", "浙江省杭州市")
    assert region_prefixes("") == ()


def test_table_rows_that_group_codes_are_not_places() -> None:
    table = {
        "330000": "浙江省",
        "330100": "杭州市",
        "330101": "市辖区",
        "330105": "拱墅区",
        "420000": "湖北省",
        "429000": "省直辖县级行政区划",
        "429004": "仙桃市",
        "110000": "北京市",
        "110100": "市辖区",
        "110105": "朝阳区",
        "990101": "孤儿区",  # no province row
    }
    assert set(table_paths(table)) == {
        ("浙江省",),
        ("浙江省", "杭州市"),
        ("浙江省", "杭州市", "拱墅区"),
        ("湖北省",),
        ("湖北省", "仙桃市"),
        ("北京市",),
        ("北京市", "朝阳区"),
    }


def test_a_small_gazetteer() -> None:
    gaz = Gazetteer(
        [
            ("甲省",),
            ("甲省", "乙市"),
            ("甲省", "乙市", "丙区"),
            ("丁省",),
            ("丁省", "戊市"),
            ("丁省", "戊市", "丙区"),
        ]
    )
    assert gaz.place("乙市丙区").text == "甲省乙市丙区"
    assert gaz.place("丙区").units == ()  # in two provinces
    assert gaz.place("丙区", within=("丁省",)).text == "丁省戊市丙区"
    assert gaz.prefixes("乙市") == ["甲省乙市"]


def test_every_registry_region_is_a_full_path() -> None:
    for source in load_registry():
        if source.region and source.id != "sample-site":  # the local sample site's 样例市 is no place
            place = gazetteer().place(source.region)
            assert place.units and not place.rest and place.text == source.region, source.id
            province = place.units[0]
            assert gazetteer().paths(province) == {(province,)}, f"{source.id}: starts with a province"
