"""Background work through Huey: SQLite storage on one machine, Redis when many workers share the load.

Imports point one way: ``api`` / ``cli`` → ``jobs`` → ``services``. A job takes ids and calls a service.
"""
