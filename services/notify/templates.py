"""zh-CN texts of the notifications (Jinja2): a title and a body per kind, naming the suggestion or
meeting, the unit, the deadline in local time and a link into the dashboard."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import DictLoader, Environment, StrictUndefined, meta

KINDS = (
    "assigned",
    "reminder",
    "overdue",
    "replied",
    "unsatisfied",
    "meeting_scheduled",
    "meeting_changed",
    "joint_inspection_launched",
    "review_opinion_overdue",
    "promise_overdue",
)

_T: dict[str, tuple[str, str]] = {
    "assigned": (
        "【交办】{{ suggestion }}",
        "{% if audience == 'co_unit' %}代表建议《{{ suggestion }}》已交由{{ unit }}主办、贵单位协办，"
        "{% else %}{{ unit }}：代表建议《{{ suggestion }}》已交由贵单位主办，{% endif %}"
        "请于 {{ deadline }} 前答复代表。详情：{{ link }}",
    ),
    "reminder": (
        "【催办提醒】{{ subject }}将于 {{ deadline }} 到期",
        "{{ unit }}：{{ what }}《{{ subject }}》的答复期限为 {{ deadline }}（还剩约 {{ lead }}），"
        "请抓紧办理并按时答复。详情：{{ link }}",
    ),
    "overdue": (
        "【逾期】{{ suggestion }}（{{ unit }}）",
        "代表建议《{{ suggestion }}》的答复期限 {{ deadline }} 已过，主办单位{{ unit }}尚未答复。"
        "{% if audience == 'unit' %}请立即办理并答复代表。{% elif audience == 'staff' %}请督促办理。"
        "{% else %}人大已督促办理。{% endif %}详情：{{ link }}",
    ),
    "replied": (
        "【请评价】{{ suggestion }}已答复",
        "{{ deputy }}代表：您领衔的建议《{{ suggestion }}》已由{{ unit }}答复（{{ result }}），"
        "请登录系统对办理结果作出满意度评价。详情：{{ link }}",
    ),
    "unsatisfied": (
        "【不满意】{{ suggestion }}（{{ unit }}）",
        "代表对{{ unit }}办理的建议《{{ suggestion }}》评价为不满意，进入重新办理，"
        "新的答复期限为 {{ deadline }}。{% if comment %}代表意见：{{ comment }}。{% endif %}详情：{{ link }}",
    ),
    "meeting_scheduled": (
        "【会议通知】{{ meeting }}",
        "{{ deputy }}代表：定于 {{ starts }} 在{{ venue }}召开{{ meeting }}，请准时参加。详情：{{ link }}",
    ),
    "meeting_changed": (
        "【会议变更】{{ meeting }}",
        "{{ deputy }}代表：{% if cancelled %}{{ meeting }}已取消。{% elif removed %}"
        "{{ meeting }}的参会人员已调整，您无需参加。{% else %}{{ meeting }}有变更，"
        "现定于 {{ starts }} 在{{ venue }}召开，请准时参加。{% endif %}详情：{{ link }}",
    ),
    "joint_inspection_launched": (
        "【县乡联动视察】{{ theme }}",
        "{{ place }}：县人大常委会发起县乡联动视察“{{ theme }}”，视察时间为 {{ window_start }} 至 "
        "{{ window_end }}，请邀请本地代表并组织开展。要求：{{ requirements }}。详情：{{ link }}",
    ),
    "review_opinion_overdue": (
        "【逾期】审议意见反馈（{{ unit }}）",
        "{{ unit }}对《{{ meeting }}》审议意见的反馈期限 {{ deadline }} 已过，尚未反馈。"
        "{% if audience == 'unit' %}请立即研究处理并反馈。{% else %}请督促反馈。{% endif %}详情：{{ link }}",
    ),
    "promise_overdue": (
        "【承诺逾期】{{ suggestion }}（{{ unit }}）",
        "{{ unit }}在答复建议《{{ suggestion }}》时承诺于 {{ deadline }} 前落实，期限已过仍未落实。"
        "{% if audience == 'unit' %}请立即落实并登记。{% elif audience == 'staff' %}请督促落实。"
        "{% else %}人大已督促落实。{% endif %}详情：{{ link }}",
    ),
}

_env = Environment(
    loader=DictLoader({f"{k}.title": t for k, (t, _b) in _T.items()} | {f"{k}.body": b for k, (_t, b) in _T.items()}),
    autoescape=False,  # plain text: mails are text/plain, SMS and bots take text
    undefined=StrictUndefined,
    keep_trailing_newline=False,
)


@dataclass(frozen=True)
class Text:
    title: str
    body: str


_COMPILED = {name: _env.get_template(name) for name in _env.list_templates()}
# The variables each title uses: an event's addressees share its title (they differ by audience, in the body).
_TITLE_VARS = {k: tuple(sorted(meta.find_undeclared_variables(_env.parse(t)))) for k, (t, _b) in _T.items()}


@functools.lru_cache(maxsize=1024)
def _title(kind: str, values: tuple[Any, ...]) -> str:
    return _COMPILED[f"{kind}.title"].render(**dict(zip(_TITLE_VARS[kind], values, strict=True))).strip()


@functools.lru_cache(maxsize=256)
def _body(kind: str, items: tuple[tuple[str, Any], ...]) -> str:
    return _COMPILED[f"{kind}.body"].render(**dict(items)).strip()


def render(kind: str, params: dict[str, Any]) -> Text:
    """A notice's title and body; addressees of one event share the title, and those of one
    audience (an event's deputies) the body too: each is rendered once."""
    names = _TITLE_VARS[kind]
    values = tuple(params.get(n, _ABSENT) for n in names)
    try:
        title = _title(kind, values) if _ABSENT not in values else None
        body: str | None = _body(kind, tuple(sorted(params.items())))
    except TypeError:  # a value that cannot be a cache key
        title = body = None
    if title is None:
        title = _COMPILED[f"{kind}.title"].render(**params).strip()  # StrictUndefined names what is missing
    if body is None:
        body = _COMPILED[f"{kind}.body"].render(**params).strip()
    return Text(title=title, body=body)


_ABSENT = object()


def local(value: datetime | date | None, tz: ZoneInfo) -> str:
    """A deadline or start in local time with its offset: ``2026-03-05 17:00（UTC+08:00）``."""
    if value is None:
        return "（未定）"
    if not isinstance(value, datetime):
        return f"{value.isoformat()}（当日内）"
    t = value.astimezone(tz)
    off = t.strftime("%z")
    return f"{t:%Y-%m-%d %H:%M}（UTC{off[:3]}:{off[3:]}）"


def lead_time(iso: str) -> str:
    """``P14D`` → ``14 天``, ``PT5S`` → ``5 秒``; anything else as given."""
    s = iso.upper()
    short = {"H": "小时", "M": "分钟", "S": "秒"}
    units = short if s.startswith("PT") else {"D": "天", "W": "周", "M": "个月", "Y": "年"}
    s = s.removeprefix("PT").removeprefix("P")
    if len(s) > 1 and s[:-1].isdigit() and s[-1] in units:
        return f"{s[:-1]} {units[s[-1]]}"
    return iso
