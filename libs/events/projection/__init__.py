"""Projections: read models built from events, each batch committed with its checkpoint.

Split by job: ``base`` (what a projection declares, ``@on`` dispatch), ``consumer`` (the
hand-driven pull consumer), ``checkpoints`` (positions and halts), ``runner`` (one projection's
progress), ``batch`` (applying a batch, halting on a message that cannot be decoded or applied),
``group`` (one consumer for a process's read models, back-off), ``rebuild``.
"""

from libs.events.projection.base import Projection, on
from libs.events.projection.batch import apply_batch
from libs.events.projection.checkpoints import DDL_LOCK, Halt, NotHalted, checkpoints, state_metadata
from libs.events.projection.consumer import (
    ConsumerGone,
    Delivered,
    PullSource,
    _Delivered,
    decode_delivered,
    parse_ack_subject,
    read_stream,
)
from libs.events.projection.group import IDLE_CONSUMER_NS, ProjectionGroup
from libs.events.projection.rebuild import ProjectionHalted, rebuild, rebuild_all, rebuild_placed
from libs.events.projection.runner import ProjectionRunner

__all__ = [
    "DDL_LOCK",
    "IDLE_CONSUMER_NS",
    "ConsumerGone",
    "Delivered",
    "Halt",
    "NotHalted",
    "Projection",
    "ProjectionGroup",
    "ProjectionHalted",
    "ProjectionRunner",
    "PullSource",
    "_Delivered",
    "apply_batch",
    "checkpoints",
    "decode_delivered",
    "on",
    "parse_ack_subject",
    "read_stream",
    "rebuild",
    "rebuild_all",
    "rebuild_placed",
    "state_metadata",
]
