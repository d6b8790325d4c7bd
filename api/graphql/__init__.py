"""GraphQL face at /graphql: Strawberry types over the same use cases as REST."""
