"""What ``/`` shows until the dashboard is served by the supervision service: where things are."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>renda 人大工作平台</title>
<style>body{{font-family:"Noto Sans CJK SC",sans-serif;max-width:48rem;margin:3rem auto;line-height:1.7;color:#222}}
h1{{color:#b71c1c}} li{{margin:.3rem 0}} code{{background:#f4f4f4;padding:0 .3rem}}</style></head>
<body><h1>renda 人大工作平台</h1>
<p>乡镇人大主席团、街道人大工委与县（区）、市人大常委会的履职与联动监督系统。</p>
<h2>服务接口</h2><ul>{services}</ul>
<p>运行状态：<a href="/readyz">/readyz</a> · 指标：<a href="/metrics">/metrics</a></p>
</body></html>"""


def home_app(services: list[str]) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    items = "".join(
        f'<li><code>/api/{s}</code> — <a href="/api/{s}/docs">接口文档</a> · <a href="/api/{s}/readyz">状态</a></li>'
        for s in services
    )

    @app.get("/", response_class=HTMLResponse)
    async def index() -> str:
        return PAGE.format(services=items)

    return app
