"""What a user runs from start to end: analyze a take, check and shoot stacks, marks, calibrate the drive, watch a hot folder."""
