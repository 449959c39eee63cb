"""The OpenAPI 3.1 schema of ``focuslock hub serve`` (``GET /openapi.json``), written by
hand beside the live server's (:mod:`focuslock.serve.openapi`, whose pieces it uses);
``tests/serve/test_qc_page.py`` checks that it is valid and lists every route the QC
application has (and no other)."""

from __future__ import annotations

from typing import Any

from focuslock import __version__
from focuslock.hub.queries import DONE, NOT_SHARP, NOT_SHOT, SHORT
from focuslock.serve.openapi import _ERROR, _REFUSALS, _answer, _get
from focuslock.session.verdict import ShotOutcome

__all__ = ["qc_openapi_schema"]

_TEXT_OR_NULL = {"type": ["string", "null"]}
_VERDICT = {"type": "string", "enum": [v.value for v in ShotOutcome]}
_COUNTS = {"type": "object", "properties": {v.value: {"type": "integer"} for v in ShotOutcome}}
_SHOT = {"type": "object", "required": ["id", "station", "name", "verdict"], "properties": {
    "id": {"type": "integer"}, "station_id": {"type": "string"}, "station": {"type": "string"},
    "session_key": {"type": "string"}, "session": {"type": "string"}, "sequence": {"type": "integer"},
    "logged_utc": {"type": "string", "format": "date-time"}, "name": {"type": "string"}, "sku": _TEXT_OR_NULL,
    "verdict": _VERDICT, "reason": _TEXT_OR_NULL, "worst_coc_share": {"type": ["number", "null"]},
    "thumbnail": {"type": "boolean"}, "crop": {"type": "boolean"}}}
_ENTRY = {"type": "object", "properties": {
    "sku": {"type": "string"}, "name": {"type": "string"}, "views_expected": {"type": "integer"},
    "shots": {"type": "integer"}, "passed": {"type": "integer"},
    "state": {"type": "string", "enum": [NOT_SHOT, NOT_SHARP, SHORT, DONE]},
    "last_verdict": {"type": ["string", "null"]},
    "view_names": {"type": "array", "items": {"type": "string"}, "description": "the views the list named (none: a count)"},
    "missing_views": {"type": "array", "items": {"type": "string"}, "description": "the named views without a passing shot"},
    "views_told_apart": {"type": "boolean",
                         "description": "false: the list gave a count of views, and passes are counted, not told apart"},
    "views_said": {"type": "string", "description": "its views as hub status says them: 'missing back, side', or "
                                                    "'1 of 3 views (views not told apart)'"}}}
_DAY = {"type": "object", "required": ["day", "has_list", "not_shot", "to_reshoot", "misnamed", "stations"], "properties": {
    "day": {"type": "string", "format": "date"}, "has_list": {"type": "boolean"}, "listed": {"type": "integer"},
    "counts": _COUNTS, "not_shot": {"type": "array", "items": _ENTRY, "maxItems": 300},
    "to_reshoot": {"type": "array", "items": _ENTRY, "maxItems": 300},
    "short_of_views": {"type": "array", "items": _ENTRY, "maxItems": 300},
    "misnamed": {"type": "array", "items": {"$ref": "#/components/schemas/Shot"}, "maxItems": 200},
    "sizes": {"type": "object", "description": "each list's whole length (the lists hold at most 300, misnamed 200)",
              "properties": {k: {"type": "integer"} for k in ("not_shot", "to_reshoot", "short_of_views", "misnamed")}},
    "stations": {"type": "array", "items": {"type": "object", "properties": {
        "station": {"type": "string"}, "name": {"type": "string"}, "sessions": {"type": "integer"},
        "shots": {"type": "integer"}, "counts": _COUNTS, "last_shot_utc": _TEXT_OR_NULL}}}}}
_AWAY = _answer("The hub cannot be reached now; one sentence says why (try again).", {"$ref": "#/components/schemas/Error"})


def _preview(what: str, operation: str) -> dict:
    return {"get": {"summary": f"A shot's {what} (JPEG, as the station made it).", "operationId": operation,
                    "parameters": [{"name": "shot_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                    "responses": {"200": _answer("A JPEG.", {"type": "string", "format": "binary"}, "image/jpeg"),
                                  "401": _REFUSALS["401"],
                                  "404": _answer("No such shot, or it has none.", {"$ref": "#/components/schemas/Error"}),
                                  "503": _AWAY}}}


def _read(summary: str, ok: dict, operation: str) -> dict:
    item = _get(summary, ok, operation)
    item["get"]["responses"]["503"] = _AWAY
    return item


def _report(html: dict) -> dict:
    item = _read("The studio's day as `focuslock hub report` writes it: a self-contained page, no script.", html, "report")
    item["get"]["parameters"] = [{"name": "date", "in": "query", "required": False,
                                  "schema": {"type": "string", "format": "date"}, "description": "YYYY-MM-DD; default today"}]
    item["get"]["responses"]["400"] = _answer("Not a day.", {"$ref": "#/components/schemas/Error"})
    return item


def qc_openapi_schema() -> dict[str, Any]:
    """The schema of every route the QC server has."""
    html = _answer("An HTML page.", {"type": "string"}, "text/html")
    paths = {
        "/": _get("The studio's QC page: every station's shots as they land, the day's list, verdicts per station.",
                  html, "qcPage"),
        "/login": {**_get("The login form (servers bound beyond loopback).", html, "loginForm"),
                   "post": {"summary": "Log in with the token; sets the page's cookie.", "operationId": "login",
                            "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
                                "schema": {"type": "object", "properties": {"token": {"type": "string"}}}}}},
                            "responses": {"303": {"description": "Logged in: on to the page."}, "401": _REFUSALS["401"]}}},
        "/openapi.json": _get("This schema.", _answer("OpenAPI 3.1", {"type": "object"}), "openapi"),
        "/api/day": _read("The day's list (SKUs not shot, to reshoot, misnamed shots) and each station's verdicts.",
                          _answer("The day.", {"$ref": "#/components/schemas/Day"}), "day"),
        "/api/shots": _read("The newest shots of the day on the hub, newest first.",
                            _answer("The shots.", {"type": "object", "properties": {
                                "shots": {"type": "array", "items": {"$ref": "#/components/schemas/Shot"}}}}), "shots"),
        "/report.html": _report(html),
        "/api/shots/{shot_id}/thumbnail.jpg": _preview("thumbnail", "thumbnail"),
        "/api/shots/{shot_id}/crop.jpg": _preview("first feature at 100 %", "crop"),
        "/api/events": _get("WebSocket: a `snapshot` (hub state, newest shots, the day) first and whenever the hub comes "
                            "back, `shots` as they land, then `day` (the day's list read again), `hub` when the hub goes away, `ping` "
                            "when nothing happened for 15 s.", _answer("Switching protocols (WebSocket)."), "events"),
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "focuslock hub serve", "version": __version__,
                 "description": "The studio's QC page and its read-only API (docs/HUB.md)."},
        "paths": paths,
        "components": {
            "schemas": {"Shot": _SHOT, "Day": _DAY, "Error": _ERROR},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "cookie": {"type": "apiKey", "in": "cookie", "name": "focuslock_token"}},
        },
        "security": [{}, {"bearer": []}, {"cookie": []}],
    }
