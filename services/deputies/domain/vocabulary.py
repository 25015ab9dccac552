"""What clerks type: English contract values, or the zh-CN words they use, mapped to the former.

Every alias maps to exactly one contract value; anything else falls through unchanged and is
refused by the field's ``Literal`` with a 422 naming the field and listing the valid values.
The term (届次) is the integer or the clerk's form, ``"第十九届"`` (Chinese numerals 一…九十九).
Counts are strict integers: ``false`` is no count.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, Strict, WithJsonSchema

from libs.domain.errors import InvalidInput

GENDER = {"男": "male", "女": "female", "男性": "male", "女性": "female", "m": "male", "f": "female"}
LEVEL = {
    "乡镇": "township",
    "乡": "township",
    "镇": "township",
    "乡镇级": "township",
    "乡级": "township",
    "镇级": "township",
    "县": "county",
    "区": "county",
    "县级": "county",
    "区级": "county",
    "县（区）": "county",
    "市": "city",
    "市级": "city",
    "设区的市": "city",
    "省": "province",
    "省级": "province",
    "全国": "national",
    "全国人大": "national",
}
TERMINATION = {
    "辞职": "resigned",
    "辞去代表职务": "resigned",
    "罢免": "recalled",
    "被罢免": "recalled",
    "迁出": "moved",
    "调离": "moved",
    "迁出或调离": "moved",
    "去世": "deceased",
    "死亡": "deceased",
    "病故": "deceased",
    "任期届满": "term_ended",
    "届满": "term_ended",
    "换届": "term_ended",
}
ACTIVITY = {
    "走访选民": "constituent_visit",
    "走访": "constituent_visit",
    "接待选民": "reception",
    "接待": "reception",
    "接待日": "reception",
    "向选民述职": "report_to_voters",
    "述职": "report_to_voters",
    "调解矛盾纠纷": "mediation",
    "调解": "mediation",
    "调解纠纷": "mediation",
    "培训": "training",
    "参加培训": "training",
    "学习培训": "training",
    "办好事实事": "good_deed",
    "好事实事": "good_deed",
    "办实事": "good_deed",
    "帮扶困难户": "household_help",
    "帮扶": "household_help",
    "结对帮扶": "household_help",
    "选民座谈会": "constituent_meeting",
    "召开选民座谈会": "constituent_meeting",
    "座谈会": "constituent_meeting",
}
REPORT_MODE = {"书面": "written", "书面述职": "written", "会议": "meeting", "会议述职": "meeting", "当面": "meeting"}
CONTACT_KIND = {
    "主席团成员": "presidium_member",
    "主席团": "presidium_member",
    "选民": "constituent",
    "群众": "constituent",
}


def _mapper(table: dict[str, str]) -> Callable[[Any], Any]:
    def to_contract(v: Any) -> Any:
        if not isinstance(v, str):
            return v
        s = v.strip()
        return table.get(s) or table.get(s.lower()) or s.lower()

    return to_contract


Gender = Annotated[Literal["male", "female"], BeforeValidator(_mapper(GENDER))]
Level = Annotated[Literal["township", "county", "city", "province", "national"], BeforeValidator(_mapper(LEVEL))]
TerminationReason = Annotated[
    Literal["resigned", "recalled", "moved", "deceased", "term_ended"], BeforeValidator(_mapper(TERMINATION))
]
ActivityKind = Annotated[
    Literal[
        "constituent_visit",
        "reception",
        "report_to_voters",
        "mediation",
        "training",
        "good_deed",
        "household_help",
        "constituent_meeting",
    ],
    BeforeValidator(_mapper(ACTIVITY)),
]
ReportMode = Annotated[Literal["written", "meeting"], BeforeValidator(_mapper(REPORT_MODE))]
ContactKind = Annotated[Literal["presidium_member", "constituent"], BeforeValidator(_mapper(CONTACT_KIND))]


PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,18}[0-9]$")  # a mobile or a landline with its area code


def checked_phone(raw: str | None) -> str | None:
    """A deputy's phone as registration and a change of contact take it: trimmed, None when blank."""
    phone = raw.strip() if raw else ""
    if phone and not PHONE.match(phone):
        raise InvalidInput("phone", "电话号码格式不正确，请填写手机号或带区号的固定电话。")
    return phone or None


DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
MAX_TERM = 99


def chinese_number(text: str) -> int | None:
    """一 … 九十九 (also 十, 十九, 二十, 二十一); None for anything else."""
    if not text or any(ch not in DIGITS and ch != "十" for ch in text):
        return None
    if "十" not in text:
        return DIGITS[text] if len(text) == 1 and DIGITS[text] > 0 else None
    tens, _, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1 or "十" in ones:
        return None
    high = DIGITS[tens] if tens else 1
    low = DIGITS[ones] if ones else 0
    if high == 0 or (tens and ones == "" and high == 0):
        return None
    return high * 10 + low


def parse_term(v: Any) -> Any:
    """19, "19", "第19届", "第十九届", "十九" → 19; anything else is left for the int check to refuse."""
    if isinstance(v, bool):
        raise ValueError("届次应为数字或「第十九届」这样的写法，不能是真假值")
    if not isinstance(v, str):
        return v
    s = v.strip().removeprefix("第").removesuffix("届").strip()
    if s.isdigit():
        return int(s)
    n = chinese_number(s)
    if n is None:
        raise ValueError(f"届次「{v}」无法识别：请填写数字（如 19）或「第十九届」")
    return n


Term = Annotated[
    int,
    Field(ge=1, le=MAX_TERM),
    BeforeValidator(parse_term),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": MAX_TERM},
                {"type": "string", "examples": ["第十九届", "19"]},
            ]
        }
    ),
]
Count = Annotated[int, Strict(), Field(ge=0, le=100_000)]
