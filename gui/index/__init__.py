"""File ▸ Open Index…: the conversations of a whole index (``flowscope-cli index``) in one table.

- :mod:`.model` — the table model: pages of rows from DuckDB, sorting and filtering in DuckDB;
- :mod:`.panel` — the filter box, the table and its column chooser, the counts;
- :mod:`.opening` — opening a row's capture in the window and selecting its conversation
  (also what ``flowscope FILE --stream N`` uses);
- :mod:`.mode` — the window's index mode: the menu entry and switching tables.
"""
