"""The ticketing domain: aggregates, their events and every rule of the contract (§1).

Pure Python: nothing here knows of Flask, SQL or Kafka.
"""
