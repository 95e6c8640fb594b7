"""The REST route table: every operation with its contract."""

from __future__ import annotations

from starlette.routing import Route

from rest.endpoint import Operation
from rest.handlers import auth, orders, payments, products, users
from rest.models import (
    AuthOut,
    CancelOrderBody,
    ChangePasswordBody,
    CreateProductBody,
    ListOut,
    LoginBody,
    OrderOut,
    OrderStatusBody,
    PaymentOut,
    PlaceOrderBody,
    ProductOut,
    RegisterBody,
    SetRoleBody,
    UpdateProductBody,
    UserOut,
)
from rest.paths import route_path
from rest.queries import OrderListQuery, ProductListQuery, UserListQuery

PLACE_ORDER_EXAMPLE = {"items": [{"productId": "UHJvZHVjdDox", "quantity": 2}]}

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        method="POST",
        path="/api/auth/register",
        handler=auth.register,
        summary="Create an account and sign in",
        tag="auth",
        access="anyone",
        status=201,
        response=AuthOut,
        body=RegisterBody,
        errors=(400, 409, 429),
    ),
    Operation(
        method="POST",
        path="/api/auth/login",
        handler=auth.login,
        summary="Sign in",
        tag="auth",
        access="anyone",
        status=200,
        response=AuthOut,
        body=LoginBody,
        errors=(400, 401, 429),
    ),
    Operation(
        method="POST",
        path="/api/auth/refresh",
        handler=auth.refresh,
        summary="Rotate the session cookies",
        tag="auth",
        access="anyone",
        status=200,
        response=AuthOut,
        errors=(401,),
    ),
    Operation(
        method="POST",
        path="/api/auth/logout",
        handler=auth.logout,
        summary="End this session",
        tag="auth",
        access="anyone",
        status=204,
    ),
    Operation(
        method="POST",
        path="/api/auth/logout-all",
        handler=auth.logout_all,
        summary="End every session of yours",
        tag="auth",
        access="signed-in",
        status=204,
        errors=(401,),
    ),
    Operation(
        method="PUT",
        path="/api/auth/password",
        handler=auth.change_password,
        summary="Change your password (every other session ends)",
        tag="auth",
        access="signed-in",
        status=204,
        body=ChangePasswordBody,
        errors=(400, 401),
    ),
    Operation(
        method="GET",
        path="/api/users/me",
        handler=users.me,
        summary="You",
        tag="users",
        access="signed-in",
        status=200,
        response=UserOut,
        errors=(401,),
    ),
    Operation(
        method="GET",
        path="/api/users",
        handler=users.list_users,
        summary="List users",
        tag="users",
        access="admin",
        status=200,
        response=ListOut[UserOut],
        query=UserListQuery,
        errors=(400, 401, 403),
    ),
    Operation(
        method="PATCH",
        path="/api/users/{id}",
        handler=users.set_role,
        summary="Change a user's role",
        tag="users",
        access="admin",
        status=200,
        response=UserOut,
        body=SetRoleBody,
        errors=(400, 401, 403, 404),
    ),
    Operation(
        method="GET",
        path="/api/products",
        handler=products.list_products,
        summary="Browse the catalogue",
        tag="products",
        access="anyone",
        status=200,
        response=ListOut[ProductOut],
        query=ProductListQuery,
        errors=(400,),
    ),
    Operation(
        method="GET",
        path="/api/products/{id}",
        handler=products.get_product,
        summary="One product",
        tag="products",
        access="anyone",
        status=200,
        response=ProductOut,
        errors=(400, 404),
    ),
    Operation(
        method="POST",
        path="/api/products",
        handler=products.create_product,
        summary="Add a product",
        tag="products",
        access="admin",
        status=201,
        response=ProductOut,
        body=CreateProductBody,
        errors=(400, 401, 403),
        headers={"Location": "The new product's URL."},
    ),
    Operation(
        method="PATCH",
        path="/api/products/{id}",
        handler=products.update_product,
        summary="Change a product",
        tag="products",
        access="admin",
        status=200,
        response=ProductOut,
        body=UpdateProductBody,
        errors=(400, 401, 403, 404),
    ),
    Operation(
        method="DELETE",
        path="/api/products/{id}",
        handler=products.delete_product,
        summary="Archive a product (existing orders keep it)",
        tag="products",
        access="admin",
        status=204,
        errors=(400, 401, 403, 404),
    ),
    Operation(
        method="POST",
        path="/api/orders",
        handler=orders.place_order,
        summary="Place an order (201; a replay of the same Idempotency-Key: 200)",
        tag="orders",
        access="signed-in",
        status=201,
        response=OrderOut,
        body=PlaceOrderBody,
        errors=(400, 401, 404, 409, 422),
        headers={"Location": "The new order's URL."},
        example=PLACE_ORDER_EXAMPLE,
        idempotent=True,
    ),
    Operation(
        method="GET",
        path="/api/orders",
        handler=orders.list_orders,
        summary="Your orders (admins: all)",
        tag="orders",
        access="signed-in",
        status=200,
        response=ListOut[OrderOut],
        query=OrderListQuery,
        errors=(400, 401),
    ),
    Operation(
        method="GET",
        path="/api/orders/{id}",
        handler=orders.get_order,
        summary="One order",
        tag="orders",
        access="signed-in",
        status=200,
        response=OrderOut,
        errors=(400, 401, 404),
    ),
    Operation(
        method="POST",
        path="/api/orders/{id}/cancel",
        handler=orders.cancel_order,
        summary="Cancel an order and restock it",
        tag="orders",
        access="signed-in",
        status=200,
        response=OrderOut,
        body=CancelOrderBody,
        errors=(400, 401, 404, 409),
    ),
    Operation(
        method="POST",
        path="/api/orders/{id}/payment",
        handler=payments.start_payment,
        summary="Start paying your PENDING order (201; the payment already started: 200)",
        tag="orders",
        access="signed-in",
        status=201,
        response=PaymentOut,
        errors=(400, 401, 404, 409, 502),
        repeat="The payment started earlier, unchanged.",
    ),
    Operation(
        method="PATCH",
        path="/api/orders/{id}/status",
        handler=orders.update_status,
        summary="Move an order through its lifecycle",
        tag="orders",
        access="admin",
        status=200,
        response=OrderOut,
        body=OrderStatusBody,
        errors=(400, 401, 403, 404, 409),
    ),
)


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
