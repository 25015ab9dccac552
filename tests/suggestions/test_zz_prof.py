import time
import tests.suggestions.test_rates_api as m
orig_make = m.make_area
async def timed_make(*a, **k):
    t=time.perf_counter(); r = await orig_make(*a, **k); print("PROF make_area", round(time.perf_counter()-t,2)); return r
m.make_area = timed_make
orig_step = m.Fixture.step
async def timed_step(self, *a, **k):
    t=time.perf_counter(); r = await orig_step(self, *a, **k); print("PROF step", round(time.perf_counter()-t,3)); return r
m.Fixture.step = timed_step
import httpx
orig_get = httpx.AsyncClient.get
async def tget(self, url, *a, **k):
    t=time.perf_counter(); r = await orig_get(self, url, *a, **k); print("PROF GET", url, round(time.perf_counter()-t,3)); return r
httpx.AsyncClient.get = tget
from tests.suggestions.test_rates_api import *  # noqa
