"""The engine's connection on Spark: the same interface as :class:`~pipelines.resolve.sql.Sql`.

The engine keeps calling ``run`` / ``rows`` / ``one`` / ``arrow`` with DuckDB statements; this
class translates each one (:mod:`pipelines.resolve.spark.translate`) and runs it on a Spark session.
DuckDB's TEMP tables have no Spark twin (a temp view is a query, recomputed on every read, and a
view cannot be replaced by a query over itself), so a table is materialised as Parquet in the
work folder and exposed as a temp view reading those files:

* ``CREATE [OR REPLACE] TEMP TABLE t AS SELECT ...``: the query written to a new folder, the view
  pointed at it, the previous folder removed;
* ``CREATE TEMP TABLE t (columns)``: an empty table of that schema;
* ``INSERT INTO t SELECT ...``: the rows written as one more folder of ``t`` (columns by position,
  cast to ``t``'s types), the number of rows returned as DuckDB does;
* ``CREATE [OR REPLACE] TEMP VIEW``: a Spark temp view; ``DROP TABLE`` / ``DROP VIEW``: dropped;
* a query: its rows.

Tables the engine hands back to the build (:func:`parquet_of`) are read by DuckDB from those files:
data crosses between the engines as Parquet only.
"""

from __future__ import annotations

import itertools
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot
import sqlglot.expressions as exp

from pipelines.resolve.spark.translate import TranslationError, Translator
from pipelines.resolve.sql import Sql, StepListener

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


class SparkSql(Sql):
    """A Spark session seen through the engine (see the module docstring)."""

    def __init__(self, spark: SparkSession, work: Path, verbose: bool = False,
                 listener: StepListener | None = None) -> None:
        self._init_state(verbose, listener)
        self.spark = spark
        self.work = work
        self.translator = Translator()
        #: table name (lower case) -> its Parquet folders (several after INSERTs)
        self._tables: dict[str, list[Path]] = {}
        self._views: set[str] = set()
        self._seq = itertools.count()

    # -- the interface of Sql -------------------------------------------------------------------
    def define_macro(self, name: str, params: tuple[str, ...], body: str) -> None:
        self.translator.define(name, params, body)

    def _execute(self, sql: str, params: list[Any] | None) -> list[tuple[Any, ...]]:
        if params:
            raise TranslationError(f"the Spark engine takes no statement parameters: {sql[:80]}")
        self._record(sql)
        t = time.perf_counter()
        rows = self._dispatch(sqlglot.parse_one(sql, read="duckdb"), sql)
        if self.verbose:
            print(f"  [{time.perf_counter() - t:6.2f}s] (spark) {sql[:150]}")
        return rows

    def io(self, sql: str) -> None:
        raise TranslationError(f"the Spark engine reads and writes Parquet through parquet_of / "
                               f"register_parquet, not DuckDB I/O: {sql[:80]}")

    def arrow(self, sql: str) -> pa.Table:
        self._record(sql)
        return self._frame(sqlglot.parse_one(sql, read="duckdb")).toArrow()

    def register(self, name: str, table: pa.Table) -> None:
        """An Arrow table as a table of the session (written as Parquet first: types kept exactly)."""
        folder = self._folder(name)
        folder.mkdir(parents=True)
        pq.write_table(table, folder / "part-0.parquet")
        self._point(name, [folder])

    def unregister(self, name: str) -> None:
        self._drop(name)

    def table_exists(self, name: str, schema: str | None = None) -> bool:
        return schema is None and (name.lower() in self._tables or name.lower() in self._views)

    # -- what the runner uses -------------------------------------------------------------------
    def register_parquet(self, name: str, files: list[Path]) -> None:
        """Parquet files written elsewhere (the build's input) as a table of the session."""
        self._point(name, list(files))

    def parquet_of(self, name: str) -> list[Path]:
        """The Parquet folders holding table ``name`` (for DuckDB to read back)."""
        try:
            return list(self._tables[name.lower()])
        except KeyError:
            raise TranslationError(f"no table {name} on the Spark engine") from None

    def close(self) -> None:
        for name in list(self._tables) + list(self._views):
            self._drop(name)

    # -- statements -----------------------------------------------------------------------------
    def _dispatch(self, tree: exp.Expr, text: str) -> list[tuple[Any, ...]]:
        if isinstance(tree, exp.Create):
            return self._create(tree, text)
        if isinstance(tree, exp.Insert):
            return [(self._insert(tree),)]
        if isinstance(tree, exp.Drop):
            for table in tree.args.get("tables") or [tree.this]:
                self._drop(table.name)
            return []
        if isinstance(tree, (exp.Query, exp.Select)):
            return [tuple(r) for r in self._frame(tree).collect()]
        raise TranslationError(f"the Spark engine runs no {type(tree).__name__} statement: {text[:80]}")

    def _create(self, tree: exp.Create, text: str) -> list[tuple[Any, ...]]:
        kind = str(tree.args.get("kind") or "").upper()
        target = tree.this
        if kind == "VIEW":
            name = target.name
            self.spark.sql(f"CREATE OR REPLACE TEMP VIEW `{name}` AS {self.translator.to_spark(tree.expression)}")
            self._views.add(name.lower())
            return []
        if kind != "TABLE":
            raise TranslationError(f"the Spark engine creates tables and views only: {text[:80]}")
        if isinstance(target, exp.Schema):  # CREATE TABLE t (columns): empty
            name = target.this.name
            ddl = ", ".join(f"`{c.name}` {c.args['kind'].sql(dialect='spark')}" for c in target.expressions)
            self._write(name, self.spark.createDataFrame([], ddl), replace=True)
            return []
        self._write(target.name, self._frame(tree.expression), replace=True)
        return []

    def _frame(self, query: exp.Expr) -> DataFrame:
        """The query as a DataFrame.  sqlglot turns ``SELECT * ... QUALIFY f = 1`` into a filtered
        subquery whose ``*`` also carries the window's column ``_w``; it is dropped here."""
        df = self.spark.sql(self.translator.to_spark(query))
        if query.args.get("qualify") is not None and "_w" in df.columns:
            df = df.drop("_w")
        return df

    def _insert(self, tree: exp.Insert) -> int:
        target = tree.this.this.name if isinstance(tree.this, exp.Schema) else tree.this.name
        if target.lower() not in self._tables:
            raise TranslationError(f"INSERT into {target}, which is no table of the Spark engine")
        into = self.spark.table(f"`{target}`")
        df = self._frame(tree.expression)
        if len(df.columns) != len(into.columns):
            raise TranslationError(f"INSERT into {target}: {len(df.columns)} columns for {len(into.columns)}")
        df = df.toDF(*[f"c{i}" for i in range(len(df.columns))])
        return self._append(target, df, into)

    def _append(self, target: str, df: DataFrame, into: DataFrame) -> int:
        from pyspark.sql.functions import col

        cols = [f"c{i}" for i in range(len(into.columns))]
        typed = df.select(*[col(c).cast(f.dataType).alias(f.name) for c, f in zip(cols, into.schema.fields)])
        folder = self._write(target, typed, replace=False)
        return int(self.spark.read.parquet(str(folder)).count())

    def _folder(self, name: str) -> Path:
        return self.work / f"{name.lower()}.{next(self._seq)}"

    def _write(self, name: str, df: DataFrame, *, replace: bool) -> Path:
        folder = self._folder(name)
        df.write.parquet(str(folder))
        old = self._tables.get(name.lower(), []) if replace else []
        self._point(name, [folder] if replace else [*self._tables[name.lower()], folder])
        for f in old:
            shutil.rmtree(f, ignore_errors=True)
        return folder

    def _point(self, name: str, folders: list[Path]) -> None:
        self.spark.read.parquet(*[str(f) for f in folders]).createOrReplaceTempView(name)
        self._tables[name.lower()] = folders
        self._views.discard(name.lower())

    def _drop(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)
        self._views.discard(name.lower())
        for f in self._tables.pop(name.lower(), []):
            if f.is_relative_to(self.work):
                shutil.rmtree(f, ignore_errors=True)
