"""HTTP routes of the suggestions context, one module per aggregate: parse, authorise, call, answer.

``units.py`` and ``opinions.py`` (static paths) are mounted before ``suggestions.py``, whose
``/{suggestion_id}`` would otherwise catch them; the presidium's and county's steps and
attachments are in ``oversight.py``; what one suggestion looks like in ``views.py``.

Path ids: an id that cannot be an id (``a.b``, ``*``, a space, non-ASCII, too long) is answered
as unknown, 404, everywhere (contract "Lists, times and identifiers"). The checks are ``async``:
FastAPI runs a plain ``def`` dependency in its thread pool, a hand-off costing milliseconds
under load on every command naming a suggestion.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from libs.web.errors import NotVisible
from services.suggestions.commands.references import valid_id

CodeQuery = r"^\d{4}(\d{2}(\d{3})?)?$"


async def _suggestion_id(suggestion_id: Annotated[str, Path(description="建议编号")]) -> str:
    if not valid_id(suggestion_id):
        raise NotVisible()
    return suggestion_id


async def _opinion_id(opinion_id: Annotated[str, Path(description="群众意见编号")]) -> str:
    if not valid_id(opinion_id):
        raise NotVisible()
    return opinion_id


async def _attachment_id(attachment_id: Annotated[str, Path(description="附件编号")]) -> str:
    if not valid_id(attachment_id):
        raise NotVisible()
    return attachment_id


SuggestionId = Annotated[str, Depends(_suggestion_id)]
OpinionId = Annotated[str, Depends(_opinion_id)]
AttachmentId = Annotated[str, Depends(_attachment_id)]
