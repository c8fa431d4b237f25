"""Each distinct GraphQL document is parsed and validated once, under the
request limits, by one extension (strawberry's ParserCache, ValidationCache,
MaxTokensLimiter and AddValidationRules in one: a request then runs one
extension's hooks instead of four's, about a tenth of a small mutation's time).

A document which does not parse is left to strawberry's own parse step, which
reports it as a GraphQL error on every transport. (strawberry's ParserCache
raised it outside that step: over websockets the client got no error, only
`complete`, and the server logged a traceback.)"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache, lru_cache
from typing import Any

from graphql import ASTValidationRule, GraphQLError
from graphql.language.parser import parse
from strawberry.extensions import SchemaExtension


@cache
def _parse_cache(maxsize: int) -> Callable[..., Any]:
    return lru_cache(maxsize=maxsize)(parse)


@cache
def _validate_cache(maxsize: int) -> Callable[..., Any]:
    """Validation errors by (schema, rules, document text). Keyed by the text,
    not the DocumentNode: graphql-core hashes a node by hashing every node
    under it, on every request (a fifth of a small query's validation step)."""
    from strawberry.schema.schema import validate_document

    @lru_cache(maxsize=maxsize)
    def validate(schema: Any, rules: Any, query: _Text) -> list[GraphQLError]:
        return validate_document(schema, query.document, rules)

    return validate


class _Text:
    """A document, equal to another when its text is: the text parses to it."""

    __slots__ = ("document", "query")

    def __init__(self, query: str, document: Any) -> None:
        self.query = query
        self.document = document

    def __hash__(self) -> int:
        return hash(self.query)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Text) and other.query == self.query


class CachedDocuments(SchemaExtension):
    """Parse (at most `max_tokens` tokens) and validate (with `rules` added to
    strawberry's) through LRU caches shared by every request of the process."""

    def __init__(
        self, rules: tuple[type[ASTValidationRule], ...], max_tokens: int, maxsize: int = 256
    ) -> None:
        self.rules = rules
        self.max_tokens = max_tokens
        self.parse = _parse_cache(maxsize)
        self.validate = _validate_cache(maxsize)
        #: The document this request's text parsed to (validated by its text).
        self.parsed: Any = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.max_tokens
        try:
            self.parsed = self.parse(context.query, **context.parse_options)
            context.graphql_document = self.parsed
        except GraphQLError:
            context.graphql_document = None  # parsed again, and reported, by strawberry
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = context.validation_rules + self.rules
        document = context.graphql_document
        if context.query and self.parsed is document:
            key = _Text(context.query, document)
            context.pre_execution_errors = self.validate(
                context.schema._schema, context.validation_rules, key
            )
        # else: strawberry validates a document it parsed itself
        yield
