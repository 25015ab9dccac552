"""Errors of the event store; the web layer renders them with the contract's error shape."""

from __future__ import annotations


class EventStoreError(Exception):
    code = "event_store_error"
    message = "事件存储暂时不可用，请稍后重试。"


class ConcurrencyConflict(EventStoreError):
    """Another command appended to the aggregate first; reload and retry is safe."""

    code = "concurrency_conflict"
    message = "该记录刚被他人修改，请刷新后重试。"


class StreamMissing(EventStoreError):
    code = "stream_missing"
    message = "事件流不存在：请运维人员检查 NATS 数据目录，切勿自动重建。"


class ServerTooOld(EventStoreError):
    code = "nats_server_too_old"
    message = "NATS 服务器版本过低，需要 2.12 或更高版本。"


class ProjectionAhead(EventStoreError):
    code = "projection_ahead_of_stream"
    message = "读模型的检查点超过了事件流的末尾：事件流可能被替换或丢失，已拒绝运行。"


class CorruptStream(EventStoreError):
    code = "corrupt_stream"
    message = "该记录的事件链不完整或被改动，已拒绝操作；请运维人员运行 renda audit verify 检查。"
