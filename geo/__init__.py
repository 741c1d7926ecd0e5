"""Pure geospatial computation: coordinates, H3 cell maps, hotspots, routing.

Nothing in this package imports a database, a web framework or a settings
object: functions take arrays and geometries and return the same.
"""
