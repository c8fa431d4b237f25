"""orders-gql: a GraphQL API for a shop's orders, built on CQRS and event sourcing."""

__version__ = "0.1.0"
