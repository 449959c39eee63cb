"""The live session: acquisition and processing threads, the processing pipeline, headless runs, sources built from a string."""
