"""The studio's hub: one PostgreSQL database that every station sends its shots to
(docs/HUB.md). Below ``workflows/`` and above ``session/``: the command line, the window
and the server all start a station's sync from here; it imports neither Qt nor Starlette."""
