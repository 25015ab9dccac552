"""Matrix cases of notify: an inbox and preferences are the caller's own; the outbox is staff's, by place."""

from __future__ import annotations

from tests.auth.matrix_core import Case, List_, Probe, Self_, list_probe, new_id

N = "/api/notify"


CASES: dict[tuple[str, str], Case] = {
    ("GET", f"{N}/inbox"): Self_(lambda w, role, where: Probe("GET", f"{N}/inbox")),
    ("GET", f"{N}/unread-count"): Self_(lambda w, role, where: Probe("GET", f"{N}/unread-count")),
    # an item that is not the caller's is answered as missing, whoever asks
    ("POST", f"{N}/inbox/{{item_id}}/read"): Self_(
        lambda w, role, where: Probe("POST", f"{N}/inbox/{new_id('n')}/read"), success=404
    ),
    ("GET", f"{N}/preferences"): Self_(lambda w, role, where: Probe("GET", f"{N}/preferences")),
    ("PUT", f"{N}/preferences"): Self_(lambda w, role, where: Probe("PUT", f"{N}/preferences", json={"muted": []})),
    ("GET", f"{N}/outbox"): List_(list_probe(f"{N}/outbox")),
}
