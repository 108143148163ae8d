"""The one place that knows which Airflow is running, and what the provider does on an older one.

Supported: Airflow 2.11 (from 2.11.0), 3.0, 3.1, 3.2 and 3.3; CI runs 2.11.0 and each 3.x minor's newest
patch. What each flag gates, and how the provider degrades below it, is in docs/compatibility.md. Everything
else in the package imports Airflow names that moved between versions from here, never with its own
version check.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from airflow import __version__ as _airflow_version

# The task-SDK names that moved between 3.0 and 3.1, through apache-airflow-providers-common-compat's lazy
# map (the 3.x path first, then the older one), as the official providers import them.
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowSkipException,
    BaseHook,
    BaseNotifier,
    BaseOperator,
    BaseOperatorLink,
    BaseSensorOperator,
    Connection,
    PokeReturnValue,
    TaskInstanceKey,
    XCom,
    mask_secret,
    redact,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    import jinja2
    from airflow.providers.common.compat.triggers import BaseEventTrigger
    from airflow.sdk.definitions._internal.templater import Templater as _TemplaterBase
    from pydantic import JsonValue
else:
    _TemplaterBase = object


def _base_version(version: str) -> tuple[int, int, int]:
    """``3.2.2``, ``3.3.0rc1`` or ``3.1.8.dev0`` -> (major, minor, micro) of the release it belongs to."""
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
    if match is None:
        raise RuntimeError(f"cannot read the Airflow version {version!r}")
    major, minor, micro = match.groups()
    return int(major), int(minor), int(micro or 0)


AIRFLOW_VERSION = _base_version(_airflow_version)
#: The installed Airflow's version as it names itself (``3.2.2``), for messages.
AIRFLOW_VERSION_TEXT: str = _airflow_version
#: 3.0: the task SDK (``airflow.sdk``), the API server (FastAPI), the execution API, DAG versions; assets with
#: ``AssetWatcher`` and ``BaseEventTrigger`` (event-driven scheduling: the provider's event triggers).
AIRFLOW_V_3_0_PLUS = AIRFLOW_VERSION >= (3, 0, 0)
#: 3.1: ``AirflowException`` and ``redact`` in the task SDK; Deadline Alerts; plugin ``external_views``;
#: the API server's cookie auth; ``ConnectionDetails(team_name=)``.
AIRFLOW_V_3_1_PLUS = AIRFLOW_VERSION >= (3, 1, 0)
#: 3.2: connection forms from ``conn-fields``/``ui-field-behaviour`` in provider info; ``airflow.sdk.conf``;
#: task-sdk exceptions (``AirflowFailException``, ``AirflowSensorTimeout``); a secrets backend that denies access is reported as such.
AIRFLOW_V_3_2_PLUS = AIRFLOW_VERSION >= (3, 2, 0)
#: 3.3: the triggerer calls ``BaseTrigger.on_kill``; ``airflow.sdk.log.amask_secret``; the task state store
#: (``context["task_state_store"]``, resumable starts: read from the context, so no flag is needed); the asset
#: state store, which the triggerer hands an event trigger of an asset watcher (``asset_state_store``).
AIRFLOW_V_3_3_PLUS = AIRFLOW_VERSION >= (3, 3, 0)


class UnsupportedOnThisAirflowError(RuntimeError):
    """A feature of the provider needs a mechanism this Airflow does not have (docs/compatibility.md)."""


def require_airflow(minimum: tuple[int, int], mechanism: str) -> None:
    """Raise a clear error, at DAG parse or execute time, when this Airflow lacks ``mechanism``."""
    if (*minimum, 0) > AIRFLOW_VERSION:
        raise UnsupportedOnThisAirflowError(
            f"{mechanism} needs Airflow {minimum[0]}.{minimum[1]} or later; this is Airflow "
            f"{AIRFLOW_VERSION_TEXT} (see the provider's docs/compatibility.md)"
        )


def __getattr__(name: str) -> Any:
    """``BaseEventTrigger``, 3.0's marker of a trigger an AssetWatcher may run (2.11: common-compat's
    ``BaseTrigger``; the event triggers refuse to be built there), imported when the event triggers ask for
    it: ``airflow.triggers.base`` would cost every DAG that imports this module about 4 ms of its parse."""
    if name != "BaseEventTrigger":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from airflow.providers.common.compat.triggers import BaseEventTrigger

    return BaseEventTrigger


if AIRFLOW_V_3_2_PLUS:
    from airflow.sdk import conf
    from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException, AirflowSensorTimeout
else:  # pragma: no cover - Airflow 3.0, 3.1
    from airflow.configuration import conf  # type: ignore[assignment]
    from airflow.exceptions import (  # type: ignore[attr-defined,no-redef]
        AirflowFailException,
        AirflowNotFoundException,
        AirflowSensorTimeout,
    )

if AIRFLOW_V_3_0_PLUS:
    from airflow.sdk.bases.operator import TRIGGER_FAIL_REPR, TriggerFailureReason

    #: ``next_kwargs["error"]`` of a deferred task resumed because Airflow's defer timeout passed.
    DEFER_TIMEOUT_ERROR: str = TriggerFailureReason.TRIGGER_TIMEOUT
else:  # pragma: no cover - Airflow 2.11: the scheduler's own text, and the task fails with TaskDeferralError
    TRIGGER_FAIL_REPR = "__fail__"
    DEFER_TIMEOUT_ERROR = "Trigger/execution timeout"

if AIRFLOW_V_3_3_PLUS:
    from airflow.sdk import RetryDecision, RetryPolicy
    from airflow.sdk.log import amask_secret
else:  # pragma: no cover - Airflow 3.0 to 3.2

    class RetryPolicy:  # type: ignore[no-redef]
        """Airflow < 3.3 has no task retry policies; the provider's refuses to be built there."""

    RetryDecision = None  # type: ignore[assignment,misc]

    async def amask_secret(secret: JsonValue, name: str | None = None) -> None:
        """Airflow < 3.3 has no async variant: the sync one masks in this process at once, and telling the
        supervisor is best effort (3.2 bridges to the event loop; 3.1 skips it, as Airflow itself does)."""
        mask_secret(secret, name)


def watcher_state_store(trigger: Any) -> Any | None:
    """The asset state store the triggerer gave an event trigger of an asset watcher (3.3+: one accessor per
    watched asset, ``aget``/``aset``); ``None`` below 3.3, or when the trigger runs outside a watcher."""
    if not AIRFLOW_V_3_3_PLUS:
        return None  # pragma: no cover - Airflow 3.0 to 3.2 have no asset state store
    return getattr(trigger, "asset_state_store", None)


def multi_team() -> bool:
    """``[core] multi_team`` is on: Airflow 3.2+ (3.1 and 3.0 have no connection teams)."""
    return AIRFLOW_V_3_2_PLUS and conf.getboolean("core", "multi_team", fallback=False)


def connection_from_secrets(conn_id: str, team_name: str | None) -> Any:
    """The connection as Airflow's secrets backends find it, in ``team_name``'s scope (3.2+; below, the
    one scope there is)."""
    from airflow.models.connection import Connection as ConnectionModel

    if AIRFLOW_V_3_2_PLUS:
        return ConnectionModel.get_connection_from_secrets(conn_id, team_name=team_name)
    return ConnectionModel.get_connection_from_secrets(conn_id)  # pragma: no cover - Airflow 3.0, 3.1


# -- the metadata DB, read by the run-failed listener -------------------------------------------------


def xcom_model() -> Any:
    """The XCom table's model: ``XComModel`` (3.0+); Airflow 2.11's ``BaseXCom``."""
    if AIRFLOW_V_3_0_PLUS:
        from airflow.models.xcom import XComModel

        return XComModel
    from airflow.models.xcom import BaseXCom  # pragma: no cover - Airflow 2.11

    return BaseXCom  # pragma: no cover


def xcom_rows(session: Any, **filters: Any) -> list[Any]:
    """The XCom rows ``XCom.get_many(**filters)`` selects: a ``select`` on 3.0+, a ``Query`` on 2.11."""
    model = xcom_model()
    if AIRFLOW_V_3_0_PLUS:
        return list(session.scalars(model.get_many(**filters)).all())
    return list(model.get_many(session=session, **filters).all())  # pragma: no cover - Airflow 2.11


def is_mapped(task: Any) -> bool:
    """``task`` (from a serialized DAG) is a mapped operator: ``is_mapped`` on 3.0+; 2.11 has the class."""
    if AIRFLOW_V_3_0_PLUS:
        return bool(getattr(task, "is_mapped", False))
    from airflow.models.mappedoperator import MappedOperator  # pragma: no cover - Airflow 2.11

    return isinstance(task, MappedOperator)  # pragma: no cover


def xcom_value(row: Any) -> Any:
    """The value an XCom row holds: deserialized from its JSON on 3.0+; Airflow 2.11's model does that when
    it loads the row."""
    if AIRFLOW_V_3_0_PLUS:
        return xcom_model().deserialize_value(row)
    return row.value  # pragma: no cover - Airflow 2.11


def serialized_dag_of(session: Any, dag_id: str, ti: Any, dag_run: Any) -> Any:
    """The serialized DAG ``ti`` ran with (else its run's, else the latest) from 3.0's ``DagVersion`` rows,
    as Airflow's ``DBDagBag`` reads it; Airflow 2.11 keeps one serialized DAG per DAG id. ``None``: none."""
    if not AIRFLOW_V_3_0_PLUS:  # pragma: no cover - Airflow 2.11
        from airflow.models.serialized_dag import SerializedDagModel

        return SerializedDagModel.get(dag_id, session=session)
    from airflow.models.dag_version import DagVersion

    candidates = [ti.dag_version_id, dag_run.created_dag_version_id if dag_run is not None else None]
    versions = [session.get(DagVersion, version_id) for version_id in candidates if version_id]
    versions.append(DagVersion.get_latest_version(dag_id, session=session))
    return next((v.serialized_dag for v in versions if v is not None and v.serialized_dag), None)


XCOM_REFUSES_NONE = AIRFLOW_V_3_0_PLUS and not AIRFLOW_V_3_1_PLUS


def push_xcom(ti: Any, key: str, value: Any) -> None:
    """``ti.xcom_push``. Airflow 3.0's execution API refuses an XCom whose value is ``None`` (EnOS' ``url``;
    2.11 and 3.1+ store it): there it is not pushed, and ``xcom_pull`` reads ``None`` all the same."""
    if value is None and XCOM_REFUSES_NONE:  # pragma: no cover - Airflow 3.0
        return
    ti.xcom_push(key=key, value=value)


async def aget_connection(hook: Any, conn_id: str) -> Connection:
    """The connection, read on an event loop: ``BaseHook.aget_connection`` (3.1+); 3.0: common-compat's."""
    if AIRFLOW_V_3_1_PLUS:
        return await hook.aget_connection(conn_id)  # type: ignore[no-any-return]
    from airflow.providers.common.compat.connection import get_async_connection  # pragma: no cover

    return await get_async_connection(conn_id, hook)  # pragma: no cover


class RenderEmptyTemplatesMixin(_TemplaterBase):
    """Template fields render as on Airflow 3.3, for operators and notifiers.

    Airflow < 3.3 keeps a field's template text when it renders to a falsy value, so an unset param or a
    missing XCom (``{{ params.user }}`` rendering to ``""``) would reach the service verbatim instead of
    being skipped or replaced by the connection's value. Below 3.3 the field gets what it rendered to.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # see ServiceTask
        super().__init__(*args, **kwargs)

    if not AIRFLOW_V_3_3_PLUS:  # pragma: no cover - Airflow 2.11 to 3.2

        def _do_render_template_fields(
            self,
            parent: Any,
            template_fields: Iterable[str],
            context: Any,
            jinja_env: jinja2.Environment,
            seen_oids: set[int],
        ) -> None:
            template_fields = list(template_fields)
            before = {name: getattr(parent, name) for name in template_fields}
            super()._do_render_template_fields(parent, template_fields, context, jinja_env, seen_oids)
            for name, value in before.items():
                if isinstance(value, str) and value and getattr(parent, name) is value:
                    setattr(parent, name, self.render_template(value, context, jinja_env, set()))


class NotifierContextMixin(_TemplaterBase):
    """Notifiers render as on 3.1+: Airflow 3.0's (and 2.11's) ``BaseNotifier`` reads ``context["dag"]``, which a DAG
    failure callback's context (and a hand-built one) does not always carry; without it, the defaults."""

    if not AIRFLOW_V_3_1_PLUS:  # pragma: no cover - Airflow 2.11, 3.0

        def _render(self, template: Any, context: Any, dag: Any = None) -> Any:
            if AIRFLOW_V_3_0_PLUS:
                from airflow.sdk.definitions._internal.templater import Templater
            else:  # Airflow 2.11
                from airflow.template.templater import Templater  # type: ignore[no-redef]

            return Templater._render(self, template, context, dag or context.get("dag"))

        def render_template_fields(self, context: Any, jinja_env: jinja2.Environment | None = None) -> None:
            if jinja_env is None:
                jinja_env = self.get_template_env(dag=context.get("dag"))
            self._do_render_template_fields(self, self.template_fields, context, jinja_env, set())


# -- assets (Airflow 2.11: datasets) -------------------------------------------------------------------

#: The context key of the asset events that triggered a DAG run (2.11: ``triggering_dataset_events``).
TRIGGERING_ASSET_EVENTS = "triggering_asset_events" if AIRFLOW_V_3_0_PLUS else "triggering_dataset_events"


def is_asset_outlet(outlet: Any) -> bool:
    """``outlet`` names one asset whose event the task's success emits, with the extra
    ``context["outlet_events"][outlet]`` holds: an ``Asset``/``AssetRef`` (3.0+), 2.11's ``Dataset``; no alias."""
    if AIRFLOW_V_3_0_PLUS:
        from airflow.sdk.definitions.asset import Asset, AssetRef

        return isinstance(outlet, Asset | AssetRef)
    from airflow.datasets import Dataset  # pragma: no cover - Airflow 2.11

    return isinstance(outlet, Dataset)  # pragma: no cover


# -- connection forms before Airflow 3.2 ----------------------------------------------------------------
# Airflow 3.0 and 3.1 ignore ``conn-fields``/``ui-field-behaviour`` in provider info; HookMetaService calls
# these two hook classmethods instead, with wtforms mocked (3.0: only with wtforms installed, by the fab
# provider). 2.11's webserver draws real wtforms fields with Flask-AppBuilder widgets. Both come from
# get_provider_info(); hooks define them only below 3.2 (3.2+ would warn that they are deprecated).

#: conn-fields JSON-schema type -> wtforms field of Airflow 3.1's allowed set. Numbers have no field
#: there: a text field, whose string the hook coerces (as it does for URI connection extras).
_FIELD_FOR_TYPE = {"integer": "IntegerField", "boolean": "BooleanField"}


def _connection_type_info(conn_type: str) -> dict[str, Any]:
    from airflow_provider_wfcancel.get_provider_info import get_provider_info

    (info,) = [c for c in get_provider_info()["connection-types"] if c["connection-type"] == conn_type]
    return dict(info)


def legacy_connection_form_widgets(hook_class: type[Any]) -> dict[str, Any]:
    """``get_connection_form_widgets`` for Airflow 2.11, 3.0 and 3.1: the ``conn-fields`` as wtforms fields."""
    import wtforms
    from wtforms.validators import Optional

    text_widget: dict[str, Any] = {}
    if not AIRFLOW_V_3_0_PLUS:  # pragma: no cover - Airflow 2.11's webserver form: Flask-AppBuilder's widgets
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget

        text_widget = {"widget": BS3TextFieldWidget()}
    widgets: dict[str, Any] = {}
    for name, field in _connection_type_info(hook_class.conn_type).get("conn-fields", {}).items():
        schema = field.get("schema", {})
        types = schema.get("type", "string")
        types = [types] if isinstance(types, str) else types
        (main_type,) = [t for t in types if t != "null"]
        field_class = getattr(wtforms, _FIELD_FOR_TYPE.get(main_type, "StringField"))
        widgets[name] = field_class(
            field.get("label", name),
            validators=[Optional()],
            description=field.get("description", ""),
            default=schema.get("default"),
            **({} if main_type == "boolean" else text_widget),
        )
    return widgets


def legacy_ui_field_behaviour(hook_class: type[Any]) -> dict[str, Any]:
    """``get_ui_field_behaviour`` for Airflow 2.11, 3.0 and 3.1: ``ui-field-behaviour`` with Python-style keys."""
    behaviour = _connection_type_info(hook_class.conn_type).get("ui-field-behaviour", {})
    return {
        "hidden_fields": list(behaviour.get("hidden-fields", [])),
        "relabeling": dict(behaviour.get("relabeling", {})),
        "placeholders": dict(behaviour.get("placeholders", {})),
    }


__all__ = [
    "AIRFLOW_VERSION",
    "AIRFLOW_VERSION_TEXT",
    "AIRFLOW_V_3_0_PLUS",
    "AIRFLOW_V_3_1_PLUS",
    "AIRFLOW_V_3_2_PLUS",
    "AIRFLOW_V_3_3_PLUS",
    "DEFER_TIMEOUT_ERROR",
    "TRIGGERING_ASSET_EVENTS",
    "TRIGGER_FAIL_REPR",
    "XCOM_REFUSES_NONE",
    "AirflowException",
    "AirflowFailException",
    "AirflowNotFoundException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "BaseEventTrigger",
    "BaseHook",
    "BaseNotifier",
    "BaseOperator",
    "BaseOperatorLink",
    "BaseSensorOperator",
    "Connection",
    "NotifierContextMixin",
    "PokeReturnValue",
    "RenderEmptyTemplatesMixin",
    "RetryDecision",
    "RetryPolicy",
    "TaskInstanceKey",
    "UnsupportedOnThisAirflowError",
    "XCom",
    "aget_connection",
    "amask_secret",
    "conf",
    "connection_from_secrets",
    "is_asset_outlet",
    "is_mapped",
    "legacy_connection_form_widgets",
    "legacy_ui_field_behaviour",
    "mask_secret",
    "multi_team",
    "push_xcom",
    "redact",
    "require_airflow",
    "serialized_dag_of",
    "watcher_state_store",
    "xcom_model",
    "xcom_rows",
    "xcom_value",
]
