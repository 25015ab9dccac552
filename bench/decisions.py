from bench.common import Row
from bench.context import Ctx


async def run(ctx: Ctx) -> list[Row]:
    return []
