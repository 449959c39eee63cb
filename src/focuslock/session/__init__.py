"""Studio sessions: the shot log, recipes, naming, shot checks, XMP sidecars, the hot folder's file handling, reports."""
