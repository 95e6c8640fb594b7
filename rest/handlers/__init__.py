"""REST handlers, one module per domain; each calls the resolvers GraphQL calls."""
