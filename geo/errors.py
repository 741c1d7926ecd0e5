"""Errors raised by ``geo`` on bad input; each message says what to fix."""


class GeoInputError(ValueError):
    """Base class: the caller gave input that cannot be used as it is."""


class CRSError(GeoInputError):
    """An unknown or unusable coordinate reference system."""


class CoordinateError(GeoInputError):
    """A coordinate that is NaN, infinite or out of range."""


class GeometryError(GeoInputError):
    """A polygon that is empty, invalid or of the wrong type."""
