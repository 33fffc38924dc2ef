"""The module `dramatiq` worker processes import (`aggregator worker` runs it): the one module with globals.

Dramatiq's command line finds the broker and its actors through module-level state: it imports this
module and reads the broker from it (`aggregator.jobs.queue.worker:broker`). So the broker, the actors
and the per-process job context are built here, once, from the environment; everything they call
takes its dependencies as arguments (see broker.py and jobs.py).
"""

from __future__ import annotations

import dramatiq

from aggregator.jobs.queue.broker import declare_actors, make_broker
from aggregator.jobs.queue.config import QueueSettings
from aggregator.jobs.queue.jobs import LazyContext, WorkerContext
from aggregator.settings import Settings

queue_settings = QueueSettings()
broker = make_broker(queue_settings)
dramatiq.set_broker(broker)
# made in each worker process on its first job (after the fork): its own engine, fetcher and connections
context = LazyContext(lambda: WorkerContext.open(Settings()))
actors = declare_actors(broker, queue_settings, context)
