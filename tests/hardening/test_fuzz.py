"""A bounded schemathesis run over every service's OpenAPI, against ``renda up`` as users run it.

Every operation gets ``EXAMPLES`` generated requests (fixed seed), sent with a county staff token
and an Idempotency-Key, and each answer is checked: never a 5xx, and the answer conforms to the
operation's documented responses (status and schema, errors in the contract's shape). The figures
(requests, 5xx, schema violations per service) are printed with ``-s`` and in the assertion.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.support.up import ROOT, Up, running_up

EXAMPLES = 25
SAMPLE = ROOT / "deploy" / "samples" / "jurisdictions-340400.csv"
SERVICES = ("deputies", "suggestions", "meetings", "notify", "supervision")


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    for up in running_up(tmp_path_factory.mktemp("fuzz") / "var"):
        loaded = up.run("jurisdictions", "load", str(SAMPLE))
        assert loaded.returncode == 0, loaded.stderr
        yield up


def _schema(up: Up, service: str) -> schemathesis.BaseSchema | None:
    r = httpx.get(f"{up.base}/api/{service}/openapi.json", timeout=30)
    if r.status_code == 404:
        return None  # a service not built in this checkout
    assert r.status_code == 200, r.text
    return schemathesis.openapi.from_dict(r.json())


def _fuzz(up: Up, schema: schemathesis.BaseSchema) -> tuple[Counter[str], list[str]]:
    figures: Counter[str] = Counter()
    failures: list[str] = []
    headers = up.headers("county_staff", "340403")
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()

            @seed(20261206)
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy())
            def run(case: schemathesis.Case) -> None:
                sent = {**headers, "Idempotency-Key": str(uuid.uuid4())}
                response = case.call(base_url=up.base, session=session, headers=sent, timeout=30)
                figures["requests"] += 1
                if response.status_code >= 500:
                    figures["5xx"] += 1
                try:
                    case.validate_response(
                        response,
                        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
                    )
                except Exception as exc:  # one line per failing operation, the run goes on
                    figures["schema_violations"] += response.status_code < 500
                    first = str(exc).splitlines()[0][:300]
                    failures.append(f"{case.operation.label} → {response.status_code}: {first}")

            run()
    return figures, failures


@pytest.mark.parametrize("service", SERVICES)
def test_no_operation_answers_5xx_or_off_schema(system: Up, service: str, tmp_path: Path) -> None:
    schema = _schema(system, service)
    if schema is None:
        pytest.fail(f"/api/{service}/openapi.json is missing: every service documents its API")
    figures, failures = _fuzz(system, schema)
    print(f"\nfuzz {service}: {dict(figures)}")
    assert figures["requests"] >= EXAMPLES, "the schema yielded operations to try"
    unique = sorted(set(failures))
    assert unique == [], f"{service}: {dict(figures)}\n" + "\n".join(unique[:40])
