"""Cameras: the protocol every source implements, libgphoto2 tether, video and capture cards,
folders, live-view zoom, vendor profiles."""
