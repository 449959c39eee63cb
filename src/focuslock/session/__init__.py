"""focuslock.session — see DESIGN.md."""
