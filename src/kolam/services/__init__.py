"""Use cases, one module each. They take a session explicitly, own its transaction, know nothing of HTTP.

Graph: every module may use ``context`` (who is acting) and ``audit`` (recording it); ``projects`` is used by
``imports``, ``assignment``, ``submissions``, ``items`` and ``exports`` to load a project within its
organization.
"""
