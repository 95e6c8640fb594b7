"""Every role, status and error code of `domain.codes` is known to both APIs and the database.

A code one API did not know would fail differently in each (a masked error in GraphQL, a
500 in REST); these tests fail first.
"""

from __future__ import annotations

import json
from typing import get_args

import pytest
from graphql import GraphQLEnumType, GraphQLError, build_schema

from db.models import ORDER_STATUSES, PAYMENT_STATUSES, ROLES
from domain.codes import ErrorCode, OrderStatus, PaymentStatus, RequestCode, Role
from domain.errors import (
    BusinessError,
    Forbidden,
    InvalidArgument,
    RateLimited,
    RequestError,
    Unauthenticated,
)
from rest.errors import BUSINESS_STATUS, REQUEST_STATUS, business_problem, request_problem
from rest.models import PaymentStatusName, RoleName, StatusName
from schema import sdl
from schema.errors import user_errors
from schema.errors_format import format_error, is_expected


def _graphql_enum(name: str) -> list[str]:
    enum = build_schema(sdl()).get_type(name)
    assert isinstance(enum, GraphQLEnumType)
    return list(enum.values)


def test_the_graphql_enums_are_the_domain_enums() -> None:
    assert _graphql_enum("ErrorCode") == [code.value for code in ErrorCode]
    assert _graphql_enum("OrderStatus") == [status.value for status in OrderStatus]
    assert _graphql_enum("Role") == [role.value for role in Role]
    assert _graphql_enum("PaymentStatus") == [status.value for status in PaymentStatus]


def test_the_rest_literals_and_the_check_constraints_are_the_domain_enums() -> None:
    assert list(get_args(StatusName)) == [status.value for status in OrderStatus]
    assert list(get_args(RoleName)) == [role.value for role in Role]
    assert list(ORDER_STATUSES) == [status.value for status in OrderStatus]
    assert list(ROLES) == [role.value for role in Role]
    assert list(get_args(PaymentStatusName)) == [status.value for status in PaymentStatus]
    assert list(PAYMENT_STATUSES) == [status.value for status in PaymentStatus]


def test_every_code_has_a_rest_status() -> None:
    assert set(BUSINESS_STATUS) == set(ErrorCode)
    assert set(REQUEST_STATUS) == set(RequestCode)


@pytest.mark.parametrize("code", list(ErrorCode))
def test_a_business_problem_of_any_code_is_answered_by_both_apis(code: ErrorCode) -> None:
    error = BusinessError.one(code, "Something the client handles.", ["field"])
    response = business_problem(error)
    assert response.status_code == BUSINESS_STATUS[code]
    assert json.loads(bytes(response.body))["code"] == code.value
    [user_error] = user_errors(error)
    assert user_error.code is code
    assert user_error.field == ["field"]


def _request_errors() -> list[RequestError]:
    errors = [
        RequestError("Refused."),
        Unauthenticated(),
        Forbidden(),
        InvalidArgument("The cursor is not one this API gave."),
        RateLimited(30),
    ]
    assert {type(error) for error in errors} == {RequestError, *RequestError.__subclasses__()}
    assert {error.code for error in errors} == set(RequestCode), "a code without an error class"
    return errors


@pytest.mark.parametrize("error", _request_errors(), ids=lambda error: error.code.value)
def test_a_refused_request_of_any_code_is_answered_by_both_apis(error: RequestError) -> None:
    response = request_problem(error)
    assert response.status_code == REQUEST_STATUS[error.code]
    assert json.loads(bytes(response.body))["code"] == error.code.value
    graphql_error = GraphQLError(error.message, original_error=error)
    assert is_expected(graphql_error)
    formatted = format_error(graphql_error, suggestions=False)
    assert formatted["extensions"]["code"] == error.code.value
    assert formatted["message"] == error.message
