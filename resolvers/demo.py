"""Demo data for a fresh development database."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.passwords import Passwords
from db.models import Product, User
from resolvers.accounts import email_key

DEMO_PRODUCTS = (
    ("Espresso beans, 1 kg", "Dark roast, single origin, whole beans.", 2450, 40),
    ("Pour-over kettle", "Gooseneck kettle, 1 litre, stainless steel.", 5900, 12),
    ("Ceramic dripper", "Hand-glazed cone dripper, size 02.", 2200, 25),
    ("Paper filters (100)", "Unbleached filters for size 02 drippers.", 650, 200),
    ("Burr grinder", "Conical steel burrs, 40 settings.", 12900, 6),
    ("Travel mug", "Insulated, 350 ml, leak-proof lid.", 2800, 0),
)


@dataclass(frozen=True, slots=True)
class DemoAccount:
    email: str
    password: str
    role: str


async def seed_demo_data(session: AsyncSession, passwords: Passwords) -> list[DemoAccount]:
    """Insert demo products, one admin and one client into an empty database.

    Returns the accounts with their freshly generated passwords, or an empty list when
    the database already has users (nothing is written then).
    """
    if await session.scalar(select(exists().where(User.id.is_not(None)))):
        return []
    accounts = [
        DemoAccount("admin@orderly.test", secrets.token_urlsafe(12), "ADMIN"),
        DemoAccount("client@orderly.test", secrets.token_urlsafe(12), "CLIENT"),
    ]
    for account in accounts:
        session.add(
            User(
                email=account.email,
                email_key=email_key(account.email),
                name="Demo " + account.role.title(),
                role=account.role,
                password_hash=await passwords.hash(account.password),
            )
        )
    for name, description, price, stock in DEMO_PRODUCTS:
        session.add(Product(name=name, description=description, price_minor=price, stock=stock))
    await session.flush()
    return accounts
