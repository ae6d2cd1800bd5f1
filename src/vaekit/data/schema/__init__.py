"""The schema of a run's data: what one example is in the user's units, and how it maps to the
numbers the model sees ("model space") and back.

It is inferred once from the training data, recorded in ``config.json`` (``data.schema``) and
used by every later command and by the Python API, so a file means the same thing it meant in
training — or the user is told, in one line naming the file and the column, why it cannot.

- ``columns``: :class:`Column`, one column's kind, role, missing-value policy and map; a
  conditional run's conditions (columns too), encoded and decoded.
- ``image``: :class:`ImageSchema` and inferring it from training images.
- ``table``: :class:`TableSchema`, the columns of a table.
- ``infer``: a table's column kinds inferred from its training data and the user's spec.
- ``legacy``: a schema read back from ``config.json`` and checked; older runs' made anew.
"""

from vaekit.data.schema.columns import Column, condition_table, decode_conditions, encode_conditions
from vaekit.data.schema.infer import infer_table_schema
from vaekit.data.schema.legacy import upgrade_recorded_config
from vaekit.data.schema.table import Schema, TableSchema, condition_width, likelihood_layout

__all__ = [
    "Column",
    "Schema",
    "TableSchema",
    "condition_table",
    "condition_width",
    "decode_conditions",
    "encode_conditions",
    "infer_table_schema",
    "likelihood_layout",
    "upgrade_recorded_config",
]
