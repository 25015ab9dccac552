"""The zh-CN dashboard: server-rendered pages (Jinja2) over the same queries as ``/api/supervision``."""
