"""``renda seed``: a realistic, deterministic history written through the event store (docs/seed.md)."""

from renda.seed.run import SeedRefused, Summary, seed
from renda.seed.scales import SCALES, Scale

__all__ = ["SCALES", "Scale", "SeedRefused", "Summary", "seed"]
