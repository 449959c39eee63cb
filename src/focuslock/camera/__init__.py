"""Camera sources: the simulated bench, libgphoto2 tether, video/capture cards, folders.

Import sources from their modules (``focuslock.camera.sim``, ``...video``, ...);
``focuslock.camera.open_source`` builds one from a ``--source`` string.
"""

from focuslock.camera.base import Camera, CameraError

__all__ = ["Camera", "CameraError"]
