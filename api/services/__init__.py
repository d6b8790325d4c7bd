"""Use cases shared by REST and GraphQL: load through the unit of work, apply domain rules, save."""
