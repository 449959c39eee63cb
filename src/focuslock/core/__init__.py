"""Values every layer shares: frames and their hand-off, errors, data files. Imports nothing of focuslock."""
