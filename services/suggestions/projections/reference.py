"""The deputies' facts this service needs (is a division a street? a deputy's seat and name), kept
from the deputies' published events by the shared read model of ``libs/reference/deputies.py``."""

from __future__ import annotations

import services.deputies.events  # noqa: F401  (the deputies' published types decode in this service)
from libs.reference.deputies import reference_projection

reference, ref = reference_projection("suggestions")
