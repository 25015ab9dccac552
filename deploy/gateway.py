"""A small reverse proxy for the local cluster: ``/api/<context>`` to that service's instances, the rest to
the web service — the job an ingress (Caddy, nginx, a Kubernetes Ingress) does in production.

    python -m deploy.gateway --port 8000 \\
        --route /api/suggestions=http://127.0.0.1:8101,http://127.0.0.1:8102 \\
        --route /api/deputies=http://127.0.0.1:8100 --route /api/auth=http://127.0.0.1:8100 \\
        --web http://127.0.0.1:8105

Instances of one service take turns; an instance that refuses the connection (stopped, killed) is
skipped for that request — the request never reached it, so trying the next one is safe even for
a command. An answer that was cut off is not retried here: the client decides, with its
``Idempotency-Key``. ``/healthz`` answers for the gateway itself.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import uvicorn

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers", "transfer-encoding",
     "upgrade", "host", "content-length"}
)  # fmt: skip
UNAVAILABLE = orjson.dumps(
    {"error": {"code": "service_unavailable", "message": "服务暂时不可用，请稍后重试。", "details": {}}}
)


class Gateway:
    def __init__(self, routes: dict[str, list[str]], web: list[str], timeout: float = 60.0) -> None:
        self.routes = sorted(routes.items(), key=lambda r: -len(r[0]))
        self.web = web
        self.turns: dict[str, Iterator[int]] = {}
        self.timeout = timeout
        self.client: httpx.AsyncClient | None = None

    def upstreams(self, path: str) -> tuple[str, list[str]]:
        for prefix, targets in self.routes:
            if path == prefix or path.startswith(prefix + "/"):
                return prefix, targets
        return "/", self.web

    def order(self, key: str, targets: list[str]) -> list[str]:
        turn = self.turns.setdefault(key, itertools.cycle(range(len(targets))))
        first = next(turn)
        return targets[first:] + targets[:first]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self.client = httpx.AsyncClient(timeout=self.timeout, limits=httpx.Limits(max_connections=200))
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self.client is not None:
                        await self.client.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        if scope["path"] == "/healthz":
            await self._answer(send, 200, b'{"status":"ok","service":"gateway"}', [])
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        key, targets = self.upstreams(scope["path"])
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        headers = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]
        client = scope.get("client")
        if client:
            headers.append(("x-forwarded-for", client[0]))
        target_path = scope["raw_path"].decode("latin-1") if scope.get("raw_path") else scope["path"]
        if scope.get("query_string"):
            target_path += "?" + scope["query_string"].decode("latin-1")
        assert self.client is not None
        for base in self.order(key, targets):
            try:
                r = await self.client.request(scope["method"], base + target_path, headers=headers, content=body)
            except (httpx.ConnectError, httpx.ConnectTimeout):
                continue  # never reached that instance: the next one may take it
            except httpx.HTTPError:
                await self._answer(send, 502, UNAVAILABLE, [])
                return
            out = [(k, v) for k, v in r.headers.multi_items() if k.lower() not in HOP_BY_HOP]
            await self._answer(send, r.status_code, r.content, out)
            return
        await self._answer(send, 503, UNAVAILABLE, [])

    async def _answer(self, send: Any, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers = [*headers, ("content-type", "application/json")]
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        raw.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})


def parse_routes(specs: list[str]) -> dict[str, list[str]]:
    routes: dict[str, list[str]] = {}
    for spec in specs:
        prefix, _, targets = spec.partition("=")
        if not prefix.startswith("/") or not targets:
            raise SystemExit(f"--route wants /prefix=http://host:port[,http://…]: {spec!r}")
        routes[prefix.rstrip("/")] = [t.rstrip("/") for t in targets.split(",") if t]
    return routes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="renda local gateway (an ingress for the local cluster)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--route", action="append", default=[], help="/api/x=http://h:p[,http://h:p]")
    parser.add_argument("--web", required=True, help="where /, /login, /static … go (comma separated)")
    args = parser.parse_args(argv)
    app = Gateway(parse_routes(args.route), [w.rstrip("/") for w in args.web.split(",")])
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", lifespan="on")


if __name__ == "__main__":
    main()
