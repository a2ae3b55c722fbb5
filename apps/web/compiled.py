"""Reading one record by key with SQL that Django compiled once per process.

Django compiles a queryset to SQL each time it runs. For a record read with its related
rows (an action with its account, deal, clone and decider: five tables, some eighty
columns) compiling took 0.6 ms of CPU, more than the database round trip, on every
request that reads an action. ``CompiledGet`` compiles the queryset once, with a marker in
place of the key, and then runs that SQL with each key, turning the row into objects with
Django's own machinery (the compiler's converters, ``from_db``, the related populators),
as ``QuerySet.get`` does.

Only the key varies: a queryset whose SQL depends on anything else (a visibility filter
holding a user's id) is not one to compile once; the caller reads those with the ORM.
The SQL names no schema, so one compilation serves every organisation.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable

from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators

# Stands for the key while compiling: found once among the parameters, then replaced.
_MARKER = -7_340_033_214_615_817


class CompiledGet:
    """``CompiledGet(lambda: Model.objects.select_related(...)).get(pk)``: the record, or
    the model's ``DoesNotExist``."""

    def __init__(self, queryset: Callable[[], QuerySet], *, key: str = "pk"):
        self._queryset = queryset
        self._key = key
        self._model: type[Model] | None = None
        self._compiled: dict[str, tuple] = {}  # database alias -> what compiling gave
        self._lock = threading.Lock()

    def get(self, value) -> Model:
        self._model = self._model or self._queryset().model
        alias = router.db_for_read(self._model)
        compiled = self._compiled.get(alias) or self._compile(alias)
        compiler, sql, params, at, model, start, end, init_list, populators = compiled
        connection = connections[alias]
        field = self._field()
        value = field.get_prep_value(value)  # as the ORM takes it: 7 for "7", ValueError for "x"
        rows = []  # an integer out of the column's range is no row, as for the ORM
        if _in_range(value, field, connection):
            with connection.cursor() as cursor:
                cursor.execute(sql, [*params[:at], value, *params[at + 1 :]])
                rows = cursor.fetchmany(2)
        if len(rows) != 1:
            if rows:
                raise model.MultipleObjectsReturned(f"More than one {model.__name__} found.")
            raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")
        # The compiler converts the row's values (JSON, decimals) as it would have; a copy
        # bound to this thread's connection, since the compiled one may serve many threads.
        compiler = copy.copy(compiler)
        compiler.connection = connection
        row = next(compiler.results_iter([rows]))
        record = model.from_db(alias, init_list, row[start:end])
        for populator in populators:
            populator.populate(row, record)
        return record

    def _field(self):
        meta = self._model._meta
        return meta.pk if self._key == "pk" else meta.get_field(self._key)

    def _compile(self, alias: str) -> tuple:
        query = self._queryset().filter(**{self._key: _MARKER}).query
        compiler = query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        if list(params).count(_MARKER) != 1 or compiler.has_extra_select:
            raise ValueError(f"Not a query to compile once: {sql}")
        klass_info, select = compiler.klass_info, compiler.select
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        compiled = (
            compiler,
            sql,
            list(params),
            list(params).index(_MARKER),
            klass_info["model"],
            start,
            end,
            [column[0].target.attname for column in select[start:end]],
            get_related_populators(klass_info, select, alias),
        )
        with self._lock:
            self._compiled[alias] = compiled
        return compiled


def _in_range(value, field, connection) -> bool:
    if not isinstance(value, int):
        return True
    low, high = connection.ops.integer_field_range(field.get_internal_type())
    return (low is None or value >= low) and (high is None or value <= high)
