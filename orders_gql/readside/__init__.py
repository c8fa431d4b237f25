"""The read side: Beanie read models kept up to date from the event log.

- `documents`, `generations`: OrderView, CustomerStats, OrderSummary per
  generation of collections; `readside.active` names the generation queries read.
- `projection`: pure rules (an event's effect on a view; an order's
  contribution to the statistics). Revenue = orders neither cancelled nor deleted.
- `store`, `batchwrite`, `transactions`: one MongoDB transaction per batch,
  with the generation's checkpoint; every change guarded by the order's version.
- `projector`, `reclaim`, `parking`, `deadletters`: the consumer group loop,
  taking over from dead consumers, dead letters and their retry.
- `rebuild`, `switching`: zero-downtime replay into a new generation.
- `progress`, `facade`: read-your-writes (`consistentWith`) for the API.
"""
