"""Data: built-in sources and the user's files read into :class:`RawData`, the schema that maps
them to model space and back, tables, splits and streaming."""

from vaekit.data.datasets import Dataset, DataSplits
from vaekit.data.location import BUILTIN
from vaekit.data.raw import RawData
from vaekit.data.splits import load_examples, load_splits

__all__ = ["BUILTIN", "DataSplits", "Dataset", "RawData", "load_examples", "load_splits"]
