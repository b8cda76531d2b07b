"""Read models derived from the event store (lists, queues); see docs/architecture.md."""
