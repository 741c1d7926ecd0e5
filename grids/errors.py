"""The domain's errors. ``api/errors.py`` maps each class to one HTTP status."""


class GridwatchError(Exception):
    """Base class of every domain error; the message says what to fix."""


class StoreError(GridwatchError):
    """The store cannot be used as configured (bad URL, schema too old)."""


class StoreNotInitialised(StoreError):
    """The store's schema was never created, or is older than the code: run `gridwatch init`."""


class NotFound(GridwatchError):
    """A unit, person, category or other record that does not exist."""


class InvalidInput(GridwatchError):
    """Input that breaks a rule of the domain (unknown category, bad field mapping)."""


class ImportRefused(InvalidInput):
    """A file that cannot be imported as it is; nothing was written."""


class NotReady(GridwatchError):
    """The service has no grids yet (run `gridwatch samples build` or import grids)."""


def with_article(noun: str) -> str:
    """``an officer``, ``a dispatcher``: a role or level name as a message says it."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


class Conflict(GridwatchError):
    """A transition from the wrong state, a rule of the case loop that the change would
    break, or a change that lost a race (HTTP 409)."""
