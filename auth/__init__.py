"""Authentication: password hashing, tokens, cookies, sessions and permission checks."""
