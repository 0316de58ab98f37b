"""Errors a user can cause and fix: the command line prints their message on one line and exits 2."""


class GenmboError(Exception):
    """A problem with what the user gave us (a file, a column, a config key), explained in one line."""


class DataError(GenmboError):
    """A whole data file is unusable: missing, unreadable, wrong columns, nothing left after cleaning."""


class ConfigError(GenmboError):
    """A configuration file or option is invalid: unknown key, wrong type, out-of-range value."""


class InvalidDesign(ValueError):
    """One design cannot be represented in its space; the loader skips the row and counts `reason`."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
