"""Request and response bodies of the REST API (what OpenAPI documents)."""
