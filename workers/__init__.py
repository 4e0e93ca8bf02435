"""The rq edge: queues, job functions (primitive ids in, call a service), the worker and the scheduler loop."""
