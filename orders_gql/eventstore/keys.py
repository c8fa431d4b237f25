"""The Redis key layout. Every key of one order shares a hash tag with its
partition's log, so one append touches one cluster slot.

    {prefix}:{p<N>}:log                    the partition's event log (positions)
    {prefix}:{p<N>}:order:<orderId>        the order's stream, entry id <version>-0
    {prefix}:{p<N>}:snapshot:<orderId>     latest snapshot of the order (JSON)
    {prefix}:{p<N>}:idem:<orderId>:<key>   idempotency record of a command
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass


@dataclass(frozen=True)
class KeySpace:
    prefix: str = "orders"
    partitions: int = 1

    def partition_of(self, order_id: str) -> int:
        if self.partitions == 1:
            return 0
        return zlib.crc32(order_id.encode()) % self.partitions

    def _tag(self, partition: int) -> str:
        return f"{self.prefix}:{{p{partition}}}"

    def log(self, partition: int = 0) -> str:
        return f"{self._tag(partition)}:log"

    def logs(self) -> list[str]:
        return [self.log(p) for p in range(self.partitions)]

    def order(self, order_id: str) -> str:
        return f"{self._tag(self.partition_of(order_id))}:order:{order_id}"

    def snapshot(self, order_id: str) -> str:
        return f"{self._tag(self.partition_of(order_id))}:snapshot:{order_id}"

    def idempotency(self, order_id: str, key: str) -> str:
        return f"{self._tag(self.partition_of(order_id))}:idem:{order_id}:{key}"
