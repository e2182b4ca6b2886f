"""Models that pre-label: encoders and predictors shipped inside packages, and clients of a client's own server.

This layer loads weights and runs inference on the CPU; it knows no database and no HTTP routes (services
call it, jobs run it). Heavy dependencies live in the ``kolam[ml]`` extra: importing a model without them
raises :class:`kolam.models.base.NeedsExtra`, which names the feature and the command that adds it.
"""
