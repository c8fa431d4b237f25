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
    from strawberry.schema.schema import validate_document

    return lru_cache(maxsize=maxsize)(validate_document)


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

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.max_tokens
        try:
            context.graphql_document = self.parse(context.query, **context.parse_options)
        except GraphQLError:
            context.graphql_document = None  # parsed again, and reported, by strawberry
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = context.validation_rules + self.rules
        context.pre_execution_errors = self.validate(
            context.schema._schema, context.graphql_document, context.validation_rules
        )
        yield
