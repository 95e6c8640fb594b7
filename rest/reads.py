"""The REST reads: each GET is a fixed GraphQL selection, answered by the compiled path.

So a REST object is the GraphQL object, field for field and byte for byte: one definition
of every representation. The selections list the fields in the order of the REST models
(`rest/models.py`), which the OpenAPI document describes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

from domain.codes import ErrorCode
from domain.errors import BusinessError
from rest.endpoint import Call

USER = "id email name role createdAt"
MONEY = "amount currency"
PRODUCT = f"id name description price {{ {MONEY} }} stock createdAt updatedAt"
ORDER = f"""id status customer {{ {USER} }}
  items {{ product {{ {PRODUCT} }} productName unitPrice {{ {MONEY} }} quantity
           subtotal {{ {MONEY} }} }}
  total {{ {MONEY} }} createdAt updatedAt
  events {{ fromStatus toStatus actor {{ {USER} }} at note }}
  payment {{ id status amount {{ {MONEY} }} provider providerReference clientSecret
             createdAt updatedAt }}"""

_ONE = '{"one":'


def direction(descending: bool) -> str:
    """A `SortDirection` value."""
    return "DESC" if descending else "ASC"


def one_document(field: str, arguments: str, selection: str) -> str:
    """A document reading one object as `one`; `arguments` declares and passes $id."""
    variables = "($id: ID!)" if arguments else ""
    return f"query{variables} {{ one: {field}{arguments} {{ {selection} }} }}"


def list_document(field: str, parameters: str, arguments: str, selection: str) -> str:
    """A document reading one page of a list as `page`: its items and where the next starts."""
    return (
        f"query({parameters}) {{ page: {field}({arguments}) {{ "
        f"items: nodes {{ {selection} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    )


async def read_one(
    call: Call[Any, Any], document: str, variables: Mapping[str, Any], missing: str
) -> Response:
    """The object the document reads, or NOT_FOUND with the message `missing`."""
    data = await _documents(call).read(document, variables, call.viewer)
    body = data[len(_ONE) : -1]  # {"one":<object or null>}
    if body == "null":
        raise BusinessError.one(ErrorCode.NOT_FOUND, missing)
    return Response(body, media_type="application/json")


async def read_page(call: Call[Any, Any], document: str, variables: Mapping[str, Any]) -> Response:
    """A REST list, `{"items": [...], "nextCursor": ...}`, from the page the document reads."""
    data = orjson.loads(await _documents(call).read(document, variables, call.viewer))
    page = data["page"]
    info = page["pageInfo"]
    body = {
        "items": page["items"],
        "nextCursor": info["endCursor"] if info["hasNextPage"] else None,
    }
    return Response(orjson.dumps(body), media_type="application/json")


def _documents(call: Call[Any, Any]) -> Any:
    documents = call.app.documents
    assert documents is not None  # noqa: S101 - set when the application is built
    return documents
