from conftest import text_doc

from services.extract.engine.regions import read_values, region_end
from services.extract.engine.splitting import sums_to_last


def test_region_stops_at_prose_and_at_next_item_number() -> None:
    t = "0 0 0\n2023年，全年"
    assert t[: region_end(t, 0, len(t))] == "0 0 0"
    t = "18182.传真申请数"
    assert t[: region_end(t, 0, len(t))] == "1818"


def test_absent_cells_stay_absent() -> None:
    doc = text_doc("行\n5\n/\n0\n0\n0\n0\n5\n")
    v = read_values(doc, 1, len(doc.text), 7, groups=[(0, 7, sums_to_last)])
    assert v is not None and v.values == [5, None, 0, 0, 0, 0, 5]


def test_run_together_split_is_marked() -> None:
    doc = text_doc("行640020470下一行")
    v = read_values(doc, 1, len(doc.text), 7, groups=[(0, 7, sums_to_last)])
    assert v is not None and v.values == [64, 0, 0, 2, 0, 4, 70] and v.split
