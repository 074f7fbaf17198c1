"""Windows of a sorted, filtered dataset for a table view: only the rows on screen are read.

An *arrangement* is one DuckDB table holding the rows that pass a filter, in the chosen order,
with the columns the view shows plus the keys that open a row (capture path, id, protocol,
stream, start). It is built once per sort or filter change (DuckDB sorts millions of rows in
seconds, off the GUI thread) and stored in display order — DuckDB keeps a table's insertion
order — so a row's ``rowid`` is its row number and a page fetch (``rowid`` in a range) goes
straight to its rows: a page costs milliseconds however deep in 10 million rows it lies. The
previous arrangement stays readable until the new one replaces it.

Unsorted and unfiltered, nothing is built: the rows are the files' own (files by name, rows as
stored), and a page is read straight from the one or two files that hold it, whose row counts
the Parquet footers give — so even a 10-million-row index shows its first page at once.

Each thread uses its own cursor (DuckDB connections are not shared between threads); the
arrangements are ordinary tables of the in-memory database, which all cursors see.
"""

from __future__ import annotations

import bisect
import itertools
import shutil
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import DatasetError, require
from .dataset import read_footer
from .query import connect, dataset_files

#: what DuckDB may hold in memory for a browser (sorts and arrangements beyond it use disk)
MEMORY_LIMIT = "1GB"

#: the columns a row is opened with (kept in every arrangement)
KEYS = ("capture_path", "id", "protocol", "stream", "start_ns")


@dataclass(frozen=True)
class Arrangement:
    """A built arrangement: its table, its columns (keys first), its row count."""

    table: str
    columns: tuple[str, ...]
    #: the columns asked for, in their order
    shown: tuple[str, ...]
    rows: int
    sort: str | None
    descending: bool
    where: str


def quote(name: str) -> str:
    """A column name as a SQL identifier (``cast`` is a keyword, for one)."""
    return '"' + name.replace('"', '""') + '"'


class IndexBrowser:
    """A dataset opened for browsing: its columns and types, arrangements, pages of rows."""

    def __init__(self, dataset: str | Path) -> None:
        require("duckdb")
        self.dataset = Path(dataset)
        #: the index files as they were when the browser opened (later runs do not change it)
        self.files = dataset_files(self.dataset)
        # arrangements live in a scratch database file, so a sort of 10 million rows is held
        # to MEMORY_LIMIT and the rest waits on disk (an in-memory one took 4 GB)
        self._scratch = Path(tempfile.mkdtemp(prefix="flowscope-index-"))
        try:
            self._con = connect(self.dataset, self.files,
                                str(self._scratch / "arrangements.duckdb"))
        except BaseException:
            shutil.rmtree(self._scratch, ignore_errors=True)
            raise
        spill = str(self._scratch).replace("'", "''")
        self._con.execute(f"SET temp_directory = '{spill}'")
        self._con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        from .filter_sql import register_functions

        register_functions(self._con)  # the catalog is shared: every cursor sees it
        described = self._con.execute("DESCRIBE conversations").fetchall()
        #: column name → DuckDB type, in the dataset's order
        self.types: dict[str, str] = {row[0]: str(row[1]) for row in described}
        self._counter = itertools.count()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._cursors: list[Any] = []
        self._closed = False
        footer = read_footer(self.files[0]) or {}
        #: the engine options the captures were indexed with (to open them the same way)
        self.options: dict[str, Any] = footer.get("options", {})
        listed = ", ".join("'" + str(p).replace("'", "''") + "'" for p in self.files)
        counts = dict(self._con.execute(
            f"SELECT file_name, sum(num_rows) FROM parquet_file_metadata([{listed}]) "
            "GROUP BY file_name").fetchall())
        #: where each file's rows start in the unsorted order (files by name, rows as stored)
        self._starts = list(itertools.accumulate((int(counts[str(p)]) for p in self.files),
                                                 initial=0))
        self._file_columns: dict[int, set[str]] = {}

    @property
    def columns(self) -> list[str]:
        return list(self.types)

    def _cursor(self) -> Any:
        """This thread's cursor for page reads (a thread that reads pages keeps one)."""
        if self._closed:
            raise DatasetError("The index was closed.")
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            with self._lock:
                if self._closed:
                    raise DatasetError("The index was closed.")
                cursor = self._local.cursor = self._con.cursor()
                self._cursors.append(cursor)
        return cursor

    def arrange(self, columns: Sequence[str], sort: str | None = None, descending: bool = False,
                where: str = "") -> Arrangement:
        """Build the arrangement of ``columns`` (plus :data:`KEYS`) for rows passing ``where``
        (SQL, "" for all) ordered by ``sort`` (None: by capture, then conversation id)."""
        duckdb: Any = require("duckdb")
        wanted = list(dict.fromkeys([*KEYS, *columns]))
        unknown = [c for c in [*wanted, *([sort] if sort else [])] if c not in self.types]
        if unknown:
            raise DatasetError(f"The index has no column {unknown[0]!r}.")
        if not sort and not where:  # the files' own order: nothing to build
            return Arrangement("", tuple(wanted), tuple(columns), self._starts[-1], None, False,
                               "")
        order = ""
        if sort:
            direction = "DESC" if descending else "ASC"
            order = f"ORDER BY {quote(sort)} {direction} NULLS LAST, capture_path, id"
        table = f"arrangement_{next(self._counter)}"
        select = ", ".join(quote(c) for c in wanted)
        # stored in display order (DuckDB keeps insertion order), so rowid is the row number
        sql = (f"CREATE TABLE {table} AS SELECT {select} FROM conversations "
               f"{'WHERE ' + where if where else ''} {order}")
        with self._lock:
            if self._closed:
                raise DatasetError("The index was closed.")
            cursor = self._con.cursor()  # a worker's own, closed when done
        try:
            cursor.execute(sql)
            (rows,) = cursor.execute(f"SELECT count(*) FROM {table}").fetchone()
        except duckdb.Error as exc:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            raise DatasetError(f"The index could not be arranged: {exc}") from None
        finally:
            cursor.close()
        return Arrangement(table, tuple(wanted), tuple(columns), int(rows), sort, descending,
                           where)

    def fetch(self, arrangement: Arrangement, start: int, count: int) -> list[tuple[Any, ...]]:
        """Rows ``start`` … ``start + count - 1`` of an arrangement, in its column order
        (DatasetError when the files changed under it: an index run replaced or removed one)."""
        duckdb: Any = require("duckdb")
        try:
            if not arrangement.table:
                return self._fetch_files(arrangement.columns, start, start + count)
            select = ", ".join(quote(c) for c in arrangement.columns)
            return self._cursor().execute(
                f"SELECT {select} FROM {arrangement.table} WHERE rowid >= ? AND rowid < ? "
                "ORDER BY rowid", [start, start + count]).fetchall()
        except duckdb.Error as exc:
            raise DatasetError(f"The index {self.dataset} changed while it was open; open it "
                               f"again ({exc}).") from None

    def _fetch_files(self, columns: Sequence[str], start: int, end: int
                     ) -> list[tuple[Any, ...]]:
        """Rows of the unsorted order straight from the files that hold them (each file is
        one capture's few thousand rows: a read of milliseconds)."""
        rows: list[tuple[Any, ...]] = []
        k = bisect.bisect_right(self._starts, start) - 1
        while 0 <= k < len(self.files) and self._starts[k] < end:
            first, last = max(start - self._starts[k], 0), min(end, self._starts[k + 1])
            last -= self._starts[k]
            have = self._columns_of(k)
            select = ", ".join(quote(c) if c in have else f"NULL AS {quote(c)}"
                               for c in columns)
            path = str(self.files[k]).replace("'", "''")
            rows += self._cursor().execute(
                f"SELECT {select} FROM read_parquet('{path}', file_row_number = true) "
                "WHERE file_row_number >= ? AND file_row_number < ? ORDER BY file_row_number",
                [first, last]).fetchall()
            k += 1
        return rows

    def _columns_of(self, k: int) -> set[str]:
        """The columns file ``k`` has (a file from an older Flowscope may lack some)."""
        have = self._file_columns.get(k)
        if have is None:
            path = str(self.files[k]).replace("'", "''")
            have = self._file_columns[k] = {row[0] for row in self._cursor().execute(
                f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()}
        return have

    def drop(self, arrangement: Arrangement) -> None:
        """Free an arrangement nobody shows any more."""
        if not arrangement.table:
            return
        if not self._closed:
            self._cursor().execute(f"DROP TABLE IF EXISTS {arrangement.table}")

    def close(self) -> None:
        """Release the database (its arrangements go with it)."""
        with self._lock:
            if not self._closed:
                self._closed = True
                for cursor in self._cursors:
                    cursor.close()
                self._cursors.clear()
                self._con.close()
                shutil.rmtree(self._scratch, ignore_errors=True)

