"""The project store: projects, immutable versions and content-addressed files, and generation records."""

from builder.store.projects import ProjectStore, clean_name, content_hash, stored_number

__all__ = ["ProjectStore", "clean_name", "content_hash", "stored_number"]
