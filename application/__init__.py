"""Use cases on the event store, and the composition root that wires them from configuration."""
