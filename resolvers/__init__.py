"""Business logic: plain async functions shared by the GraphQL schema and the REST layer."""
