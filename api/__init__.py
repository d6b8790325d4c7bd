"""The engine's faces: use cases (services), REST, GraphQL, the error table, the app and the CLI."""
