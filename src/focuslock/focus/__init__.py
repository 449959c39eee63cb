"""The focus engine: peaking, the feature and its tracking, the blur estimate and its verdict,
noise, focus maps, stack geometry. Pure computation on frames."""
