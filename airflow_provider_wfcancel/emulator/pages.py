"""HTML pages at the links the operators push to XCom, so an extra link clicked in Airflow's UI opens something.

Domo's own page for an instance is ``https://{instance}.domo.com/workflows/instances/{modelId}/{version}/{id}``
(behind a Domo login); the emulator answers the same path, without auth, with a small page of its own.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from .domo import iso_millis, render_instance
from .state import state_of

#: Route names start with ``page.``: the fault/request-log middleware leaves them alone.
router = APIRouter()

NOTE = (
    "This page is served by the wfcancel emulator, not by Domo. On a real Domo instance the same link "
    "opens this workflow instance in Domo's Workflows UI."
)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em;max-width:50em}"
        "dt{font-weight:bold;float:left;width:11em}dd{margin:0 0 .4em 11em}"
        ".note{background:#fff6d5;border:1px solid #e0c060;padding:.6em}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}<p class='note'>{escape(NOTE)}</p></body></html>",
        status_code=status,
    )


@router.get("/workflows/instances/{model_id}/{version}/{instance_id}", name="page.domo.instance")
async def domo_instance_page(request: Request, model_id: str, version: str, instance_id: str) -> HTMLResponse:
    """Status and timestamps of one Domo instance; 404 (as a page) unless all three path parts match it."""
    state = state_of(request)
    with state.locked() as now:
        instance = state.data.domo_instances.get(instance_id)
        if instance is not None and (instance.model_id, instance.model_version) == (model_id, version):
            rendered = render_instance(instance, now)
            # A cancel that has not landed yet (once it has, the status and its time say so).
            scheduled_cancel = None if instance.life.is_terminal(now) else instance.life.cancel_at
        else:
            rendered, scheduled_cancel = None, None
    if rendered is None:
        return _page(
            "Workflow instance not found",
            f"<p>No instance <code>{escape(instance_id)}</code> of model <code>{escape(model_id)}</code> "
            f"version <code>{escape(version)}</code> in this emulator (instances live in memory and are "
            "gone after a restart or a reset).</p>",
            404,
        )
    status = rendered["status"]
    rows = {
        "Status": "null (not started yet)" if status is None else status,
        "Workflow": rendered["modelName"],
        "Model id": rendered["modelId"],
        "Version": rendered["modelVersion"],
        "Instance id": rendered["id"],
        "Started by": rendered["createdBy"],
        "Created on": rendered["createdOn"],
        "Last status change": rendered["updatedOn"],
    }
    if scheduled_cancel is not None:
        rows["Cancel scheduled for"] = iso_millis(scheduled_cancel)
    items = "".join(
        f"<dt>{escape(k)}</dt><dd data-field='{escape(k.lower().replace(' ', '-'))}'>{escape(str(v))}</dd>"
        for k, v in rows.items()
    )
    return _page(
        f"Domo workflow instance {rendered['modelName']}: {rows['Status']}",
        f"<dl>{items}</dl><p>Reload for the current status.</p>",
    )
