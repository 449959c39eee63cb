"""focuslock.optics — see DESIGN.md."""
