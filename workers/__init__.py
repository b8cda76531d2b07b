"""Long-running processes and their runners: consumers, publisher, scheduler, ``ticketing dev``."""
