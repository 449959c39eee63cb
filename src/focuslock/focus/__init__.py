"""focuslock.focus — see DESIGN.md."""
