"""Scale mode: fetch jobs (one per source) and send batches (a slice of an issue's deliveries) on a Dramatiq queue.

jobs.py      the job functions, the same in-process and on a worker
dispatch.py  the Dispatcher protocol, the in-process dispatcher and how work is cut into jobs
broker.py    the RabbitMQ broker, the actors and the queue dispatcher (no globals)
worker.py    the entry module for `dramatiq` worker processes: the one module with globals
scheduler.py the single scheduler of scale mode: enqueues due fetch jobs, prepares the draft
"""
