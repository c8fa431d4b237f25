"""The GraphQL layer: strawberry types, resolvers, the schema and its HTTP view."""
