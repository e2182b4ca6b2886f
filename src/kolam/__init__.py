"""Kolam: turn raw client data into training data and better models."""

__version__ = "0.1.0"
