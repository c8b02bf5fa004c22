from hypothesis import given
from hypothesis import strategies as st

from services.extract.engine import normalize


def test_fullwidth_digits_and_thousands() -> None:
    assert normalize.normalise_text("共１５０，７６５件") == "共150765件"
    assert normalize.normalise_text("1,234,567") == "1234567"
    assert normalize.normalise_text("1,2") == "1,2"  # not a thousands separator


def test_whitespace_inside_labels_removed_but_kept_between_numbers() -> None:
    assert normalize.normalise_text("总 计 21 0 0") == "总计 21 0 0"
    assert normalize.normalise_text("无正当理由大量反复 申请") == "无正当理由大量反复申请"


def test_traditional_detected_and_converted() -> None:
    trad = "全年答覆政府信息公開申請共220件。其中，予以公開49件，部分公開1件，不同意公開66件。" * 3
    assert normalize.is_traditional(trad)
    assert not normalize.is_traditional(normalize.to_simplified(trad))
    assert "政府信息公开申请" in normalize.normalise_text(trad, traditional=True)


def test_faux_bold_doubling() -> None:
    assert normalize.undouble("年年度度报报告告") == "年度报告"
    assert normalize.undouble("申请数量") == "申请数量"


def test_chinese_numerals_in_number_slots() -> None:
    assert normalize.cn_number("三百五十一") == 351
    assert normalize.cn_number("两") == 2
    assert normalize.cn_number("12") == 12
    assert normalize.cn_number("是") is None


def test_absent_markers_are_not_zero() -> None:
    for cell in ("/", "-", "—", "", " ", "／"):
        assert normalize.is_absent(cell)
    assert not normalize.is_absent("0")


def test_short_traditional_report_is_traditional_whatever_its_length() -> None:
    """Script by share, not by count: two sentences with five traditional
    characters are traditional; a long simplified text with one variant form
    is not."""
    from services.extract.engine import extract

    short = "某某縣2010年政府信息公开工作年度报告\n全年主动公開政府信息35条，收到申請2件。\n"
    assert normalize.is_traditional(short)
    report = extract(short.encode(), filename="short.txt")
    assert report.script == "traditional"
    assert report.agency == "某某县"
    assert report.metrics["proactive.items_total"] == 35 and report.metrics["applications.new_received"] == 2
    long_simplified = "本机关全年主动公开政府信息，及时回应社会关切。" * 40 + "乾"
    assert not normalize.is_traditional(long_simplified)


def _every_step(text: str, traditional: bool, pdf: bool) -> str:
    """normalise_text without its shortcuts (a digit-only cell returned as it
    is, the thousands and whitespace rules skipped where they cannot match):
    every step run on every text."""
    import unicodedata

    text = unicodedata.normalize("NFC", text).translate(normalize._FULLWIDTH)
    if traditional:
        text = normalize.to_simplified(text)
    if pdf:
        text = "\n".join(normalize.undouble(x) for x in text.split("\n"))
    text = normalize._THOUSANDS.sub("", text)
    lines = [
        normalize._MULTI_WS.sub(" ", normalize._WS_BETWEEN_TEXT.sub("", x)).strip() for x in text.split("\n")
    ]
    return "\n".join(lines)


@given(
    st.text(
        alphabet="0123456789１２,，. \u3000\xa0\t\r\n总计申請年年度度报报告告abc²①\x0b\x1f\u2028", max_size=30
    ),
    st.booleans(),
    st.booleans(),
)
def test_the_shortcuts_change_nothing(text: str, traditional: bool, pdf: bool) -> None:
    assert normalize.normalise_text(text, traditional=traditional, pdf=pdf) == _every_step(
        text, traditional, pdf
    )


def test_the_shortcuts_are_taken_on_what_they_cover() -> None:
    # the cases the property above must also hold for, spelled out
    for text in ("0", "12", "1234567", "", "总计", "１２", "1,234", "a b", "12\n 3"):
        for traditional in (False, True):
            assert normalize.normalise_text(text, traditional=traditional, pdf=True) == _every_step(
                text, traditional, True
            )
