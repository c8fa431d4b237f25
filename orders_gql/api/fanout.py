"""One execution of a subscription's selection per event, shared by every
subscriber that asked for the same thing.

graphql-core executes the selection once per event and subscriber: with 1,000
subscribers of orderEvents, most of the API process's CPU. The payloads named
in SHARED resolve from their own attributes only (no context, no arguments),
and a subscription's root field returns the payload whatever its arguments, so
the result depends on the payload, the operation, and the variables used below
the root field's arguments only (in a directive or a nested field). The first
subscriber's result is kept for the others."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import orjson
from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    Node,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    Visitor,
    visit,
)

from .history import OrderEvent
from .leaves import LeafFieldsExecutor

#: Payload types whose selection gives every subscriber the same result.
SHARED: tuple[type, ...] = (OrderEvent,)


class _Variables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_variable(self, node: VariableNode, *_: object) -> None:
        self.names.add(node.name.value)


def selection_variables(
    operation: OperationDefinitionNode, fragments: Iterable[FragmentDefinitionNode]
) -> frozenset[str]:
    """The variables an operation uses other than in its root fields' arguments."""
    found = _Variables()
    parts: list[Node] = [*(operation.directives or ()), *fragments]
    for selection in operation.selection_set.selections:
        if isinstance(selection, FieldNode):
            parts += selection.directives or ()
            if selection.selection_set is not None:
                parts.append(selection.selection_set)
        else:
            parts.append(selection)
    for part in parts:
        visit(part, found)
    return frozenset(found.names)


#: What a shared result is for: the payload, the operation, the schema (held,
#: compared by identity) and the selection variables (as canonical JSON).
Key = tuple[tuple[Any, Any, Any], bytes]


def _ids(key: Key) -> tuple[int, int, int, bytes]:
    (payload, operation, schema), used = key
    return id(payload), id(operation), id(schema), used


class _Results:
    """The latest results by Key; what a Key holds by identity is kept alive
    with the result, so that its id is not reused meanwhile."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._variables: dict[int, tuple[OperationDefinitionNode, frozenset[str]]] = {}
        self._results: OrderedDict[tuple[int, int, int, bytes], tuple[Key, ExecutionResult]] = (
            OrderedDict()
        )

    def variables_of(
        self, operation: OperationDefinitionNode, fragments: Iterable[FragmentDefinitionNode]
    ) -> frozenset[str]:
        known = self._variables.get(id(operation))
        if known is None or known[0] is not operation:
            if len(self._variables) >= self.size:
                self._variables.clear()
            known = (operation, selection_variables(operation, fragments))
            self._variables[id(operation)] = known
        return known[1]

    def get(self, key: Key) -> ExecutionResult | None:
        found = self._results.get(_ids(key))
        if found is not None and all(a is b for a, b in zip(found[0][0], key[0], strict=True)):
            return found[1]
        return None

    def put(self, key: Key, result: ExecutionResult) -> None:
        self._results[_ids(key)] = (key, result)
        if len(self._results) > self.size:
            self._results.popitem(last=False)


_results = _Results(1024)


class _Executed:
    """Stands for a per-event executor whose result is known: graphql-core's
    execute_subscription_event only calls its execute_operation."""

    def __init__(self, result: ExecutionResult) -> None:
        self.result = result

    def execute_operation(self, serially: bool | None = None) -> ExecutionResult:
        return self.result


class SharedEventExecutor(LeafFieldsExecutor):
    """Strawberry's executor, with plain leaves read in one step (see leaves);
    a subscription event of a SHARED type is executed once per operation and
    selection variables, its result reused (without even the copy of the
    executor graphql-core makes per event)."""

    _shared_key: Key | None = None

    def build_per_event_executor(self, payload: Any) -> Any:
        key = self._key_for(payload)
        if key is not None:
            known = _results.get(key)
            if known is not None:
                return _Executed(known)
        executor = super().build_per_event_executor(payload)  # a copy of this one
        assert isinstance(executor, SharedEventExecutor)
        executor._shared_key = key
        return executor

    def execute_operation(self, serially: bool | None = None) -> Any:
        result = super().execute_operation(serially)
        key = self._shared_key
        if key is not None and isinstance(result, ExecutionResult) and not result.errors:
            _results.put(key, result)
        return result

    def _key_for(self, payload: Any) -> Key | None:
        operation = self.operation
        subscription = operation.operation is OperationType.SUBSCRIPTION
        if not subscription or not isinstance(payload, SHARED):
            return None
        names = _results.variables_of(operation, self.fragment_definitions.values())
        values = self.variable_values.coerced
        try:
            used = orjson.dumps(
                {n: values[n] for n in names if n in values}, option=orjson.OPT_SORT_KEYS
            )
        except TypeError:  # a value with no JSON form: not shared
            return None
        return (payload, operation, self.schema), used
