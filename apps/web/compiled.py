"""Reading one record by key with SQL that Django compiled once per process.

Django compiles a queryset to SQL each time it runs. For a record read with its related
rows (an action with its account, deal, clone and decider: five tables, some eighty
columns) compiling took 0.6 ms of CPU, more than the database round trip, on every
request that reads an action. ``CompiledGet`` compiles the queryset once, with a marker in
place of the key, and then runs that SQL with each key, turning the row into objects with
Django's own machinery (the compiler's converters, ``from_db``, the related populators),
as ``QuerySet.get`` does.

Only the key varies: a queryset whose SQL depends on anything else (a visibility filter
holding a user's id) is not one to compile once. ``get_within`` takes the caller's
visibility rule and reads through the compiled SQL only when the rule filters nothing more.
The SQL names no schema, so one compilation serves every organisation, and PostgreSQL plans
it once per connection (``prepared_cursor``, apps/tenancy/postgresql_backend).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import NamedTuple

from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators
from django.db.models.sql.compiler import SQLCompiler

# Stands for the key while compiling: found once among the parameters, then replaced.
_MARKER = -7_340_033_214_615_817


class _Compiled(NamedTuple):
    compiler: SQLCompiler
    sql: str
    params: list
    at: int  # where the key stands among the parameters
    model: type[Model]
    start: int  # the model's own columns in a row: [start:end]
    end: int
    init_list: list[str]
    populators: list
    converters: dict  # the compiler's, by column: (functions, expression)


class CompiledGet:
    """``CompiledGet(lambda: Model.objects.select_related(...)).get(pk)``: the record, or
    the model's ``DoesNotExist``.

    ``statement`` and ``record`` are the two halves of ``get``, for a caller that sends the
    SQL inside a statement of its own (a write that also reads the record back)."""

    def __init__(self, queryset: Callable[[], QuerySet], *, key: str = "pk"):
        self._queryset = queryset
        self._key = key
        self._model: type[Model] | None = None
        self._where = None  # the compiled queryset's filters, for ``covers``
        self._compiled: dict[str, _Compiled] = {}  # by database alias
        self._lock = threading.Lock()

    def covers(self, visible: QuerySet) -> bool:
        """Whether ``visible`` (a visibility rule's queryset for someone) filters no more
        than the compiled queryset: they see every record it reads."""
        if self._where is None:
            self._where = self._queryset().query.where
        return visible.query.where == self._where

    def get_within(self, visible: QuerySet, value) -> Model:
        """Record ``value`` among ``visible``: by the compiled SQL when ``covers(visible)``,
        else by the ORM from ``visible`` itself (a rep's own accounts, say)."""
        if self.covers(visible):
            return self.get(value)
        return visible.get(**{self._key: value})

    def get(self, value) -> Model:
        alias = router.db_for_read(self.model)
        rows = []
        if statement := self.statement(value, using=alias):
            with connections[alias].prepared_cursor() as cursor:
                cursor.execute(*statement)
                rows = cursor.fetchmany(2)
        return self.record(rows, using=alias)

    @property
    def _key_field(self):
        meta = self.model._meta
        return meta.pk if self._key == "pk" else meta.get_field(self._key)

    @property
    def model(self) -> type[Model]:
        self._model = self._model or self._queryset().model
        return self._model

    def statement(self, value, *, using: str) -> tuple[str, list] | None:
        """The SQL and parameters that read the record with key ``value``; None where no
        record can match (an integer out of the column's range, as the ORM finds nothing).
        ValueError for a value the key cannot hold, as the ORM ("x" for an integer)."""
        compiled = self._compiled.get(using) or self._compile(using)
        field = self._key_field
        value = field.get_prep_value(value)  # 7 for "7"
        if not _in_range(value, field, connections[using]):
            return None
        return compiled.sql, [
            *compiled.params[: compiled.at],
            value,
            *compiled.params[compiled.at + 1 :],
        ]

    def record(self, rows: list, *, using: str) -> Model:
        """The record of the rows ``statement`` read (at most two fetched), or the error
        ``QuerySet.get`` would raise."""
        compiled = self._compiled.get(using) or self._compile(using)
        model = compiled.model
        if len(rows) != 1:
            if rows:
                raise model.MultipleObjectsReturned(f"More than one {model.__name__} found.")
            raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")
        # The compiler converts the row's values (JSON, decimals) as it would have; a copy
        # bound to this thread's connection, since the compiled one may serve many threads.
        compiler = copy.copy(compiled.compiler)
        compiler.connection = connections[using]
        row = next(compiler.apply_converters(rows, compiled.converters))
        record = model.from_db(using, compiled.init_list, row[compiled.start : compiled.end])
        for populator in compiled.populators:
            populator.populate(row, record)
        return record

    def _compile(self, alias: str) -> _Compiled:
        marker = self._key_field.get_prep_value(_MARKER)  # "-7…" for a text key (a session's)
        query = self._queryset().filter(**{self._key: marker}).query
        compiler = query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        params = list(params)
        if params.count(marker) != 1 or compiler.has_extra_select:
            raise ValueError(f"Not a query to compile once: {sql}")
        klass_info, select = compiler.klass_info, compiler.select
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        compiled = _Compiled(
            compiler=compiler,
            sql=sql,
            params=params,
            at=params.index(marker),
            model=klass_info["model"],
            start=start,
            end=end,
            init_list=[column[0].target.attname for column in select[start:end]],
            populators=get_related_populators(klass_info, select, alias),
            # Functions of the fields, given the connection when called: the same for all.
            converters=compiler.get_converters(
                [column[0] for column in select[: compiler.col_count]]
            ),
        )
        with self._lock:
            self._compiled[alias] = compiled
        return compiled


def _in_range(value, field, connection) -> bool:
    if not isinstance(value, int):
        return True
    low, high = connection.ops.integer_field_range(field.get_internal_type())
    return (low is None or value >= low) and (high is None or value <= high)
