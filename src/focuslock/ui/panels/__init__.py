"""The side panels, one module each: the state banner, the sharpness plot, the focus
drive, capture, marks and the focus stack, depth of field, camera settings, peaking.

The panels are widgets only: they show what they are given and say what the user asked
for by their signals; the window's controllers (focuslock.ui.controllers) act on it.
"""

from __future__ import annotations

from focuslock.ui.panels.banner import StateBanner
from focuslock.ui.panels.camera_settings_panel import SettingsPanel
from focuslock.ui.panels.capture_panel import CapturePanel
from focuslock.ui.panels.dof_panel import DofPanel
from focuslock.ui.panels.drive_panel import DrivePanel
from focuslock.ui.panels.peaking_panel import PeakingPanel
from focuslock.ui.panels.sharpness_plot import SharpnessPlot
from focuslock.ui.panels.stack_panel import StackPanel

__all__ = ["CapturePanel", "DofPanel", "DrivePanel", "PeakingPanel", "SettingsPanel", "SharpnessPlot", "StackPanel",
           "StateBanner"]
