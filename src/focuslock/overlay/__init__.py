"""What is drawn over the picture: peaking colours, the feature boxes, the HUD, the focus map, plots."""
