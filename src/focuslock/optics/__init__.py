"""Optics: depth of field, the lens and body catalog, stack planning. Pure computation."""
