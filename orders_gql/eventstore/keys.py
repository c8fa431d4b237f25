"""The Redis key layout. Every key of one order shares a hash tag with its
partition's log, so one append touches one cluster slot. Partition N's tag is
chosen to hash into the N-th of P equal slot ranges, so that on a cluster whose
slots are split evenly (as `--cluster create` does) P partitions spread evenly
over the masters when P is a multiple of their number.

    {prefix}:{<tag>}:log                   the partition's event log (positions)
    {prefix}:{<tag>}:order:<orderId>       the order's stream, entry id <version>-0
    {prefix}:{<tag>}:snapshot:<orderId>    latest snapshot of the order (JSON)
    {prefix}:{<tag>}:idem:<orderId>:<key>  idempotency record of a command
"""

from __future__ import annotations

import functools
import itertools
import zlib
from dataclasses import dataclass

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot


@functools.cache
def partition_tag(partition: int, partitions: int) -> str:
    """The tag p<N>, or p<N>.<k> with the least k whose slot falls in range N of P."""
    low = partition * REDIS_CLUSTER_HASH_SLOTS // partitions
    high = (partition + 1) * REDIS_CLUSTER_HASH_SLOTS // partitions
    for k in itertools.count():
        tag = f"p{partition}" if k == 0 else f"p{partition}.{k}"
        if low <= key_slot(tag.encode()) < high:
            return tag
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class KeySpace:
    prefix: str = "orders"
    partitions: int = 1

    def partition_of(self, order_id: str) -> int:
        if self.partitions == 1:
            return 0
        return zlib.crc32(order_id.encode()) % self.partitions

    def _tag(self, partition: int) -> str:
        return f"{self.prefix}:{{{partition_tag(partition, self.partitions)}}}"

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
