"""The one way into Forja for the UI, the HTTP API and the CLI: one service per concern, a module each.

builder/composition.py builds them (`Services`, `get_services`), so importing one service loads that service and what
it needs, never every other.
"""
