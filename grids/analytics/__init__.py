"""Analytics over the store's cases: selections, hot spots, map layers, summaries.

Entry points: ``hotspots.hotspots`` and ``hotspots.emerging`` (Gi* and emerging hot spots
of a selection), ``layers`` (what maps draw around the hexagons), ``summaries.summary``.
"""
