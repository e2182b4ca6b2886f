"""Label schemas per project kind and validation of answers against them (pure Pydantic, no I/O)."""

from kolam.labels.answers import validate_answer
from kolam.labels.schema import PROJECT_KINDS, LabelSchemaDef, evolve_schema, parse_schema

__all__ = ["PROJECT_KINDS", "LabelSchemaDef", "evolve_schema", "parse_schema", "validate_answer"]
