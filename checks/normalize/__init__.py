"""Normalize: turn parsed documents into model entities with defaults applied."""
