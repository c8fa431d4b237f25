"""strawberry's ParserCache, except that a document which does not parse is
left to strawberry's own parse step, which reports it as a GraphQL error on
every transport. (The cache raised it outside that step: over websockets the
client got no error, only `complete`, and the server logged a traceback.)"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import ParserCache as StrawberryParserCache


class ParserCache(StrawberryParserCache):
    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        try:
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        except GraphQLError:
            context.graphql_document = None  # parsed again, and reported, by strawberry
        yield
