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
from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
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


def expanded_fields(document: DocumentNode) -> int:
    """The most fields one operation of the document selects with its
    fragments written out, each fragment's count worked out once: a chain of
    fragments that each spread the one before twice doubles with every link,
    and the validation rules that walk fragments path by path (the depth and
    alias limits among them) would take exponential time on it. A fragment
    spread inside itself counts nothing here (validation reports the cycle)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    counted: dict[str, int] = {}

    def count(selection_set: SelectionSetNode | None, open_: frozenset[str]) -> int:
        total = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                total += 1 + count(selection.selection_set, open_)
            elif isinstance(selection, InlineFragmentNode):
                total += count(selection.selection_set, open_)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in counted:
                    fragment = fragments.get(name)
                    if fragment is None or name in open_:
                        continue  # unknown or cyclic: validation's to report
                    counted[name] = count(fragment.selection_set, open_ | {name})
                total += counted[name]
        return total

    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return max((count(op.selection_set, frozenset()) for op in operations), default=0)


def document_errors(
    shape: tuple[int, int | None], max_fields: int, operation_name: str | None
) -> list[GraphQLError]:
    """What is refused before the validation rules run: a document with several
    operations but no operationName to pick one (strawberry would run the
    first, mutation or not; the GraphQL spec refuses it), and one that selects
    more than `max_fields` fields once its fragments are written out."""
    operations, fields = shape
    if operation_name is None and operations > 1:
        return [
            GraphQLError(
                "Must provide operation name if query contains multiple operations.",
                extensions={"code": "GRAPHQL_VALIDATION_FAILED", "field": "operationName"},
            )
        ]
    if fields is None or fields > max_fields:
        counted = "too many" if fields is None else str(fields)
        return [
            GraphQLError(
                f"the document selects {counted} fields once its fragments are written "
                f"out; at most {max_fields} are allowed",
                extensions={"code": "TOO_MANY_FIELDS"},
            )
        ]
    return []


#: ExecutionContext keeps the operationName the request gave under this name
#: (its `operation_name` falls back to the first operation's).
_GIVEN_NAME = "_provided_operation_name"
_UNKNOWN = object()


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


@cache
def _shape_cache(maxsize: int) -> Callable[[_Text], tuple[int, int | None]]:
    """(operations, fields once fragments are written out) by document text;
    None fields when counting them recursed too deep."""

    @lru_cache(maxsize=maxsize)
    def shape(query: _Text) -> tuple[int, int | None]:
        document = query.document
        operations = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
        try:
            return operations, expanded_fields(document)
        except RecursionError:
            return operations, None

    return shape


class CachedDocuments(SchemaExtension):
    """Parse (at most `max_tokens` tokens) and validate (with `rules` added to
    strawberry's) through LRU caches shared by every request of the process."""

    def __init__(
        self,
        rules: tuple[type[ASTValidationRule], ...],
        max_tokens: int,
        max_fields: int,
        maxsize: int = 256,
    ) -> None:
        self.rules = rules
        self.max_tokens = max_tokens
        self.max_fields = max_fields
        self.parse = _parse_cache(maxsize)
        self.validate = _validate_cache(maxsize)
        self.shape = _shape_cache(maxsize)
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
            given: Any = getattr(context, _GIVEN_NAME, _UNKNOWN)
            # Were strawberry to keep the given name elsewhere, the operation
            # check would be skipped ("" stands for a name), not misapplied.
            name: str | None = "" if given is _UNKNOWN else given
            refused = document_errors(self.shape(key), self.max_fields, name)
            context.pre_execution_errors = refused or self.validate(
                context.schema._schema, context.validation_rules, key
            )
        # else: strawberry validates a document it parsed itself
        yield
