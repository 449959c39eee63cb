"""focuslock.overlay — see DESIGN.md."""
