"""Connectors: pure-Python readers of platforms and files, yielding normalised records.

No Django here. Each connector yields :class:`~evidence.connectors.base.Record` (a normalised
post with its author and the raw item it came from) or :class:`~evidence.connectors.base.Rejected`
(a malformed item with its position and reason), and a cursor to resume from.
"""
