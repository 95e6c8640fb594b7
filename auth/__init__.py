"""Authentication: password hashing, tokens, login sessions and sign-in throttling."""
