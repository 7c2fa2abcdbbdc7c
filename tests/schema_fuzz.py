"""Fuzz a JSON API against its own OpenAPI document with schemathesis, in process (WSGI).

Shared by the API test modules: `fuzz_failures(app, "/api/pos/v1/openapi.json", headers)`
returns a list of readable failures (each with a curl command to replay it), empty when every
answer was documented and no request got a 5xx.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance, not_a_server_error, response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
# Known values of a field: a list to pick from, or a function making a fresh one each time.
Values = Sequence[Any] | Callable[[], Any]
Failures = dict[tuple[str, str, tuple[str, ...]], str]
KEEP = object()


def fuzz_failures(app: Flask, document_path: str, headers: Mapping[str, str], *,
                  known_values: Mapping[str, Values] | None = None,
                  max_examples: int = 25, modes: Sequence[GenerationMode] = MODES) -> list[str]:
    """Run each operation's boundary cases, then `max_examples` random requests per mode.

    `headers` go with every request (the credentials). `known_values` maps a path parameter,
    header or top-level body field to real values (seeded card numbers, sale ids) or to a
    factory (fresh idempotency keys): a request that has the field takes one of them about
    half the time, so the fuzzer reaches past the 404s and the replays. Boundary cases are
    schemathesis' coverage phase (each bound and one past it, wrong types, missing fields,
    with the document's examples elsewhere): they keep their values, except that a factory
    gives each a fresh one, since they all share the same defaults.
    The first failure of each operation, mode and kind is kept; nothing is shrunk, so the run
    stays bounded and, being derandomized, the same on every run.
    """
    schema = schemathesis.openapi.from_wsgi(document_path, app, headers=dict(headers))
    failures: Failures = {}
    known = dict(known_values or {})
    for result in schema.get_all_operations():
        operation = result.ok()
        for case in _boundary_cases(operation, modes):
            _send(case, "coverage", dict(headers), known, _fresh_only, failures)
        for mode in modes:
            _fuzz_operation(operation, mode, dict(headers), known, max_examples, failures)
    return list(failures.values())


def _boundary_cases(operation: Any, modes: Sequence[GenerationMode]) -> Iterator[Any]:
    schema = operation.schema
    return schema.iter_coverage_cases(
        operation, generation_modes=list(modes),
        generation_config=schema.config.generation_for(operation=operation, phase="coverage"))


def _fuzz_operation(operation: Any, mode: GenerationMode, headers: dict[str, str],
                    known_values: Mapping[str, Values], max_examples: int,
                    failures: Failures) -> None:
    @settings(max_examples=max_examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode, headers=headers), data=st.data())
    def send(case: schemathesis.Case, data: st.DataObject) -> None:
        _send(case, mode.value, headers, known_values, _hypothesis_picker(data), failures)

    send()


def _send(case: schemathesis.Case, stage: str, headers: dict[str, str],
          known_values: Mapping[str, Values], pick: Callable[[Values], Any],
          failures: Failures) -> None:
    _use_known_values(case, known_values, pick)
    try:
        case.call_and_validate(headers=headers, checks=CHECKS)
    except FailureGroup as group:
        kinds = tuple(sorted(failure.title for failure in group.exceptions))
        failures.setdefault((case.operation.label, stage, kinds), f"[{stage}] {group.args[0]}")


def _use_known_values(case: schemathesis.Case, known_values: Mapping[str, Values],
                      pick: Callable[[Values], Any]) -> None:
    """Swap generated values for known ones, keeping the request's shape."""
    containers = [case.path_parameters, case.headers,
                  case.body if isinstance(case.body, dict) else None]
    for container in filter(None, containers):
        for name, values in known_values.items():
            if name in container and (value := pick(values)) is not KEEP:
                container[name] = value


def _hypothesis_picker(data: st.DataObject) -> Callable[[Values], Any]:
    def pick(values: Values) -> Any:
        if not data.draw(st.booleans()):
            return KEEP
        return values() if callable(values) else data.draw(st.sampled_from(list(values)))
    return pick


def _fresh_only(values: Values) -> Any:
    return values() if callable(values) else KEEP
