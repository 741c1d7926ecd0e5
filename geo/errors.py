"""Errors raised by ``geo`` on bad input; each message says what to fix."""


class GeoInputError(ValueError):
    """Base class: the caller gave input that cannot be used as it is."""


class CRSError(GeoInputError):
    """An unknown or unusable coordinate reference system."""


class CoordinateError(GeoInputError):
    """A coordinate that is NaN, infinite or out of range."""


class GeometryError(GeoInputError):
    """A polygon that is empty, invalid or of the wrong type."""


def summarise(problems: list[str], limit: int = 5) -> str:
    """The first few problems joined, and how many more there are."""
    shown = "; ".join(problems[:limit])
    more = f" (and {len(problems) - limit} more)" if len(problems) > limit else ""
    return shown + more
