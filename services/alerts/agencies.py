"""What kind of agency a report comes from, and its statutory deadline.

条例 (2019 revision, in force from 15 May 2019) arts. 49–50: departments of
governments at county level and above publish their annual report by
31 January; governments (and the bodies that report like them: 管委会,
街道办事处, 乡镇) by 31 March of the following year. Under the 2008 条例
(art. 31) every agency had until 31 March: that applies to reporting years
up to 2018.
"""

from __future__ import annotations

import re
from datetime import date

GOVERNMENT = "government"
DEPARTMENT = "department"

_GOV_LEVELS = {
    "government",
    "gov",
    "province",
    "provincial",
    "city",
    "municipal",
    "prefecture",
    "county",
    "district",
    "township",
    "town",
    "street",
    "政府",
    "省",
    "市",
    "县",
    "区",
    "乡镇",
    "街道",
}
_DEPT_LEVELS = {"department", "dept", "agency", "部门"}
# 人民政府 / 政府 / 管委会 / 管理委员会 / 街道办事处 / 乡 / 镇 at the end of the name
_GOV_NAME = re.compile(r"(人民政府|政府|管委会|管理委员会|街道办事处|办事处|[乡镇])(办公室|办公厅)?$")


def agency_kind(agency: str | None, level: str | None = None) -> str:
    """``government`` or ``department``. The registry level wins when it says
    which; otherwise the name decides (人民政府/管委会/街道办事处 vs 局/委/办).
    A government's own 办公室 publishing *its* report is still a government
    report only when the name says 人民政府办公室 (it reports for the
    government); an unknown name counts as a department, whose deadline is
    the earlier one."""
    lv = (level or "").strip().lower()
    if lv in _DEPT_LEVELS:
        return DEPARTMENT
    name = (agency or "").strip()
    if name and _GOV_NAME.search(name):
        return GOVERNMENT
    if lv in _GOV_LEVELS and not name:
        return GOVERNMENT
    return DEPARTMENT


#: the first reporting year under the 2019 条例
REGULATION_2019_FIRST_YEAR = 2019


def deadline(
    kind: str,
    year: int,
    *,
    department: tuple[int, int] = (1, 31),
    government: tuple[int, int] = (3, 31),
    before_2019: tuple[int, int] = (3, 31),
    first_year_2019: int = REGULATION_2019_FIRST_YEAR,
) -> date:
    """Last day to publish the report for ``year``."""
    if year < first_year_2019:
        month, day = before_2019
    else:
        month, day = government if kind == GOVERNMENT else department
    return date(year + 1, month, day)
