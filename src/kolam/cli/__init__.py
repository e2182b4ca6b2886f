"""Command line: more entry points into the same services the API calls.

Graph: ``main`` assembles ``db``, ``accounts``, ``projects`` (projects, import, export), ``serve`` and
``demo``; ``common`` opens the database and turns domain errors into one line that says how to fix it.
"""
