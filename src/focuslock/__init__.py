"""focuslock: critical-focus assistant for macro and long-lens tethered shooting."""

__version__ = "0.1.0"
