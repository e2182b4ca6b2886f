"""HTTP entry point: a thin FastAPI layer — load, authorize, call a service, return a schema.

Graph: ``app`` builds the application from ``routes/*`` with ``deps`` (sessions, the current member) and
``errors`` (the single error envelope); ``schemas/*`` are the request and response bodies.
"""
