"""Reads of the suggestions context, one module per aggregate; always scoped to the caller."""
