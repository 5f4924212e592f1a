"""Exceptions and warnings raised by :mod:`ascendgan.data`.

They subclass the built-in exceptions a caller would catch anyway, so
``except FileNotFoundError`` and ``except ValueError`` keep working:

- :class:`DatasetNotFoundError` (a ``FileNotFoundError``): a data set or file is not where
  the loader looked; the message lists the places and how to get the data.
- :class:`DataFormatError` (a ``ValueError``): a file exists but is not in the expected
  format (wrong IDX magic, truncated batch, wrong shape, a label outside ``[0, num_classes)``,
  ...); the message names the file.
- :class:`CorruptImageWarning` (a ``UserWarning``): an image that could not be decoded was
  skipped because the caller passed ``skip_corrupt=True``.

Errors found while a ``tf.data`` pipeline runs (an image that does not decode, has the
wrong number of channels, or an A|B file that is not twice as wide as high) surface as
``tf.errors.InvalidArgumentError`` when the batch holding the image is produced; their
message names the file as well.

Example:

>>> from ascendgan.data import errors
>>> issubclass(errors.DatasetNotFoundError, FileNotFoundError)
True
"""

from __future__ import annotations

__all__ = ["CorruptImageWarning", "DataFormatError", "DatasetNotFoundError"]


class DatasetNotFoundError(FileNotFoundError):
    """A data set (or one of its files) was not found; the message says where the loader
    looked and how to get the data.

    Example:

    >>> import ascendgan
    >>> try:
    ...     ascendgan.data.mnist_arrays("/no/such/folder")
    ... except ascendgan.data.DatasetNotFoundError as error:
    ...     print("/no/such/folder" in str(error), "download=True" in str(error))
    True True
    """


class DataFormatError(ValueError):
    """A data file is not in the expected format; the message names the file, what was
    expected and what was found.

    Example:

    >>> from ascendgan.data import DataFormatError
    >>> issubclass(DataFormatError, ValueError)
    True
    """


class CorruptImageWarning(UserWarning):
    """Warned when ``skip_corrupt=True`` drops an image that could
    not be read or decoded; the message names the file.

    Example:

    >>> import warnings
    >>> from ascendgan.data import CorruptImageWarning
    >>> warnings.simplefilter("error", CorruptImageWarning)   # turn skips into errors
    """
