"""The vocabulary every layer shares: roles, order statuses, error codes and the expected
errors. It imports nothing from the project, so `db/`, `auth/` and `resolvers/` can all
import it."""
