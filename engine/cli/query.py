"""``flowscope-cli query DATASET "SQL"``: DuckDB over an index (the view ``conversations``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

FORMATS = ("table", "json", "csv")


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "query", help="run SQL over a conversation index (DuckDB)",
        description="Run a DuckDB SQL query over the dataset 'flowscope-cli index' wrote. The "
                    "view 'conversations' holds every conversation of every capture; "
                    "capture_path and stream say where to find one again (flowscope FILE "
                    "--stream N, flowscope-cli follow FILE --stream N).")
    p.add_argument("dataset", metavar="DATASET", help="the dataset folder")
    p.add_argument("sql", metavar="SQL", help="the query, e.g. \"SELECT count(*) FROM "
                                              "conversations\"")
    p.add_argument("--format", choices=FORMATS, default="table",
                   help="table (aligned text), json (an array, one row per line) or csv "
                        "(default: table)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..index.query import run_query, write_result

    write_result(run_query(args.dataset, args.sql), sys.stdout, args.format)
    return 0
