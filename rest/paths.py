"""REST paths: the `{id}` in a path names an object of the type its first segment names, and
matches only that type's IDs."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

from resolvers.ids import ID_PATTERNS

# The type of the object a path's {id} names, by the path's first segment under /api.
ID_TYPES = {"products": "Product", "orders": "Order", "users": "User", "webhooks": "Webhook"}
# Collections nested under another: /api/webhooks/deliveries/{id} names a delivery.
NESTED_ID_TYPES = {("webhooks", "deliveries"): "Delivery"}


def id_type(path: str) -> str:
    """The type of the object `path`'s {id} names."""
    segments = path.split("/")
    return NESTED_ID_TYPES.get((segments[2], segments[3]), None) or ID_TYPES[segments[2]]


_ALL_ID_TYPES = (*ID_TYPES.values(), *NESTED_ID_TYPES.values())


def _id_convertor(type_name: str) -> Convertor[str]:
    """Matches only well-formed IDs of `type_name`: any other segment names no resource
    (404), and `/api/users/me` is never taken for a user's ID."""

    class IdConvertor(Convertor[str]):
        regex = ID_PATTERNS[type_name].removeprefix("^").removesuffix("$")

        def convert(self, value: str) -> str:
            return value

        def to_string(self, value: str) -> str:
            return value

    return IdConvertor()


for _type_name in _ALL_ID_TYPES:
    register_url_convertor(f"{_type_name.lower()}_id", _id_convertor(_type_name))


def route_path(path: str) -> str:
    """`path` with its {id} held to the IDs of the type it names."""
    if "{id}" not in path:
        return path
    return path.replace("{id}", "{id:" + id_type(path).lower() + "_id}")
