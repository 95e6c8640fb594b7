"""The REST route table: every operation with its contract."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor
from starlette.routing import Route

from resolvers.ids import ID_PATTERNS
from rest.endpoint import Operation
from rest.handlers import auth, orders, products, users
from rest.models import (
    AuthOut,
    CancelOrderBody,
    ChangePasswordBody,
    CreateProductBody,
    ListOut,
    LoginBody,
    OrderOut,
    OrderStatusBody,
    PlaceOrderBody,
    ProductOut,
    RegisterBody,
    SetRoleBody,
    UpdateProductBody,
    UserOut,
)
from rest.queries import OrderListQuery, ProductListQuery, UserListQuery

PLACE_ORDER_EXAMPLE = {"items": [{"productId": "UHJvZHVjdDox", "quantity": 2}]}

OPERATIONS: tuple[Operation, ...] = (
    Operation("POST", "/api/auth/register", auth.register, "Create an account and sign in",
              "auth", "anyone", 201, AuthOut, RegisterBody, errors=(400, 409, 429)),
    Operation("POST", "/api/auth/login", auth.login, "Sign in", "auth", "anyone", 200, AuthOut,
              LoginBody, errors=(400, 401, 429)),
    Operation("POST", "/api/auth/refresh", auth.refresh, "Rotate the session cookies", "auth",
              "anyone", 200, AuthOut, errors=(401,)),
    Operation("POST", "/api/auth/logout", auth.logout, "End this session", "auth", "anyone", 204),
    Operation("POST", "/api/auth/logout-all", auth.logout_all, "End every session of yours",
              "auth", "signed-in", 204, errors=(401,)),
    Operation("PUT", "/api/auth/password", auth.change_password,
              "Change your password (every other session ends)", "auth", "signed-in", 204,
              body=ChangePasswordBody, errors=(400, 401)),
    Operation("GET", "/api/users/me", users.me, "You", "users", "signed-in", 200, UserOut,
              errors=(401,)),
    Operation("GET", "/api/users", users.list_users, "List users", "users", "admin", 200,
              ListOut[UserOut], query=UserListQuery, errors=(400, 401, 403)),
    Operation("PATCH", "/api/users/{id}", users.set_role, "Change a user's role", "users",
              "admin", 200, UserOut, SetRoleBody, errors=(400, 401, 403, 404)),
    Operation("GET", "/api/products", products.list_products, "Browse the catalogue",
              "products", "anyone", 200, ListOut[ProductOut], query=ProductListQuery,
              errors=(400,)),
    Operation("GET", "/api/products/{id}", products.get_product, "One product", "products",
              "anyone", 200, ProductOut, errors=(400, 404)),
    Operation("POST", "/api/products", products.create_product, "Add a product", "products",
              "admin", 201, ProductOut, CreateProductBody, errors=(400, 401, 403),
              headers={"Location": "The new product's URL."}),
    Operation("PATCH", "/api/products/{id}", products.update_product, "Change a product",
              "products", "admin", 200, ProductOut, UpdateProductBody,
              errors=(400, 401, 403, 404)),
    Operation("DELETE", "/api/products/{id}", products.delete_product,
              "Archive a product (existing orders keep it)", "products", "admin", 204,
              errors=(400, 401, 403, 404)),
    Operation("POST", "/api/orders", orders.place_order,
              "Place an order (201; a replay of the same Idempotency-Key: 200)", "orders",
              "signed-in", 201, OrderOut, PlaceOrderBody, errors=(400, 401, 404, 409, 422),
              headers={"Location": "The new order's URL."}, example=PLACE_ORDER_EXAMPLE),
    Operation("GET", "/api/orders", orders.list_orders, "Your orders (admins: all)", "orders",
              "signed-in", 200, ListOut[OrderOut], query=OrderListQuery, errors=(400, 401)),
    Operation("GET", "/api/orders/{id}", orders.get_order, "One order", "orders", "signed-in",
              200, OrderOut, errors=(400, 401, 404)),
    Operation("POST", "/api/orders/{id}/cancel", orders.cancel_order,
              "Cancel an order and restock it", "orders", "signed-in", 200, OrderOut,
              CancelOrderBody, errors=(400, 401, 404, 409)),
    Operation("PATCH", "/api/orders/{id}/status", orders.update_status,
              "Move an order through its lifecycle", "orders", "admin", 200, OrderOut,
              OrderStatusBody, errors=(400, 401, 403, 404, 409)),
)  # fmt: skip


# The type of the object a path's {id} names, by the path's first segment under /api.
ID_TYPES = {"products": "Product", "orders": "Order", "users": "User"}


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


for _type_name in ID_TYPES.values():
    register_url_convertor(f"{_type_name.lower()}_id", _id_convertor(_type_name))


def route_path(path: str) -> str:
    """`path` with its {id} held to the IDs of the type it names."""
    if "{id}" not in path:
        return path
    return path.replace("{id}", "{id:" + ID_TYPES[path.split("/")[2]].lower() + "_id}")


def rest_routes() -> list[Route]:
    """Starlette routes, one per path, dispatching on the method."""
    by_path: dict[str, dict[str, Operation]] = {}
    for operation in OPERATIONS:
        by_path.setdefault(operation.path, {})[operation.method] = operation
    return [_route(route_path(path), methods) for path, methods in by_path.items()]


def _route(path: str, methods: dict[str, Operation]) -> Route:
    from starlette.requests import Request
    from starlette.responses import Response

    async def dispatch(request: Request) -> Response:
        # Starlette routes HEAD to paths that have GET; it is answered as the GET is.
        method = "GET" if request.method == "HEAD" else request.method
        return await methods[method](request)

    return Route(path, dispatch, methods=list(methods))
