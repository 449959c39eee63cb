"""Files in and out: image and video reading under the size limits, atomic saves, outputs that
never overwrite, recordings, CSV cells."""
