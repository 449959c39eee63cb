"""``focuslock serve``: the live session behind an HTTP and WebSocket server (Starlette on
uvicorn) — a focus gate for machines (``/api/wait-sharp``) and a focus monitor for browsers.

A sibling of ``ui/``: it runs the same live engine (``runtime/``) and workflows, never Qt.
"""
