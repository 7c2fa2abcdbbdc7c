"""Schemathesis against /api/mobile/v1/openapi.json: no server error, no answer off the schema.

Each generated request carries the app key and a fresh customer's token, so the /me endpoints
are really exercised (a DELETE /me or a logout only ends that one customer).
"""
from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance,
)

from mobile_app import MobileApp, mobile, new_phone  # noqa: F401
from pos_loyalty import accounts
from pos_loyalty.db import db, run_in_transaction, utcnow
from pos_loyalty.models import Account, Program
from pos_loyalty.security import app_hasher

from pos_loyalty import app_sessions as tokens

EXAMPLES_PER_OPERATION = 15
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def fresh_token(mobile: MobileApp) -> str:
    def work() -> str:
        program = db.session.get(Program, mobile.program_id)
        card = accounts.create_customer(program, new_phone(), "1234", utcnow(), app_hasher())
        account = db.session.get(Account, card.account_id)
        return tokens.start_session(program, account, utcnow()).access_token
    return run_in_transaction(work)


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE,
                                  schemathesis.GenerationMode.NEGATIVE])
def test_mobile_api_keeps_to_its_openapi_document(mobile: MobileApp, mode):
    schema = schemathesis.openapi.from_wsgi("/api/mobile/v1/openapi.json", mobile.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 22

    for operation in operations:
        @given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis.settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None,
                             database=None, derandomize=True,
                             suppress_health_check=list(HealthCheck))
        def call(case: schemathesis.Case) -> None:
            headers = {"X-App-Key": mobile.app_key,
                       "Authorization": f"Bearer {fresh_token(mobile)}"}
            case.call_and_validate(headers=headers, checks=CHECKS)

        call()
