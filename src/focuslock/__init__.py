"""focuslock: critical-focus assistant for macro and long-lens tethered shooting."""

import os as _os

# OpenCV's own pixel limit, a second wall behind focuslock's reader (io/limits.py,
# MAX_FRAME_PIXELS): OpenCV reads it once, when cv2 is first imported, so it is set here,
# before any module of the package imports cv2. A value the user set is kept.
_os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", "200000000")

__version__ = "0.1.0"
