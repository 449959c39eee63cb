"""The server's OpenAPI 3.1 schema (``GET /openapi.json``), written by hand.

Starlette keeps no types of its own, so the schema is written here once, next to nothing
else; ``tests/serve/test_api.py`` checks that it is valid OpenAPI and that it lists every
route the application has (and no other).
"""

from __future__ import annotations

from typing import Any

from focuslock import __version__
from focuslock.serve.requests import MAX_BODY_BYTES, MAX_DRIVE_STEPS, MAX_TIMEOUT_S

__all__ = ["openapi_schema"]

_NUMBER_OR_NULL = {"type": ["number", "null"]}
_TEXT_OR_NULL = {"type": ["string", "null"]}
_STATE = {"type": "string", "enum": ["sharp", "softening", "soft", "uncertain", "lost", "unlocked"]}
_BOX = {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4,
        "description": "x, y, width, height in live-view pixels"}

_FEATURE = {"type": "object", "properties": {
    "roi": {"type": ["array", "null"], "items": {"type": "number"}}, "state": _STATE, "blur_px": _NUMBER_OR_NULL,
    "blur_sd_px": _NUMBER_OR_NULL, "coc_share": _NUMBER_OR_NULL, "reason": _TEXT_OR_NULL, "hint": _TEXT_OR_NULL}}

_STATUS = {"type": "object", "required": ["state", "locked", "fresh", "features"], "properties": {
    "state": _STATE, "locked": {"type": "boolean"}, "blur_px": _NUMBER_OR_NULL, "blur_sd_px": _NUMBER_OR_NULL,
    "blur_um": _NUMBER_OR_NULL, "coc_px": _NUMBER_OR_NULL, "coc_um": _NUMBER_OR_NULL, "coc_share": _NUMBER_OR_NULL,
    "reason": _TEXT_OR_NULL, "hint": _TEXT_OR_NULL, "frame_age_s": _NUMBER_OR_NULL, "fresh": {"type": "boolean"},
    "freshness": {"type": "string", "enum": ["LIVE", "ENDED", "PAUSED", "NO SIGNAL"]}, "fps": _NUMBER_OR_NULL,
    "latency_ms": _NUMBER_OR_NULL, "sequence": {"type": ["integer", "null"]}, "frame_time_s": _NUMBER_OR_NULL,
    "frame_size": {"type": ["array", "null"], "items": {"type": "integer"}},
    "drive_position_steps": {"type": ["integer", "null"]}, "camera": _TEXT_OR_NULL, "camera_state": {"type": "string"},
    "camera_message": {"type": "string"}, "features": {"type": "array", "items": {"$ref": "#/components/schemas/Feature"},
                                                        "maxItems": 4}, "error": _TEXT_OR_NULL}}

_ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}


def _json_body(properties: dict[str, Any], required: list[str] | None = None, one_of: list | None = None) -> dict:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": True}
    if required:
        schema["required"] = required
    if one_of:
        schema["oneOf"] = one_of
    return {"required": bool(required or one_of), "content": {"application/json": {"schema": schema}},
            "description": f"A JSON object of at most {MAX_BODY_BYTES} bytes."}


def _answer(description: str, schema: dict | None = None, content_type: str = "application/json") -> dict:
    answer: dict[str, Any] = {"description": description}
    if schema is not None:
        answer["content"] = {content_type: {"schema": schema}}
    return answer


_REFUSALS = {
    "400": _answer("The body or a value is wrong; one sentence says which.", {"$ref": "#/components/schemas/Error"}),
    "401": _answer("The token is missing or wrong (servers bound beyond loopback); nothing was changed.",
                   {"$ref": "#/components/schemas/Error"}),
    "409": _answer("The camera or the session cannot do it now; one sentence says why.", {"$ref": "#/components/schemas/Error"}),
    "413": _answer(f"The body is larger than {MAX_BODY_BYTES} bytes.", {"$ref": "#/components/schemas/Error"}),
}
_TIMEOUT = {"type": "number", "minimum": 0, "maximum": MAX_TIMEOUT_S}


def _post(summary: str, body: dict | None, ok: dict, operation: str) -> dict:
    operation_object: dict[str, Any] = {"summary": summary, "operationId": operation, "responses": {"200": ok, **_REFUSALS}}
    if body is not None:
        operation_object["requestBody"] = body
    return {"post": operation_object}


def _get(summary: str, ok: dict, operation: str) -> dict:
    return {"get": {"summary": summary, "operationId": operation, "responses": {"200": ok, "401": _REFUSALS["401"]}}}


def openapi_schema() -> dict[str, Any]:
    """The schema of every route the server has."""
    status = {"$ref": "#/components/schemas/Status"}
    paths = {
        "/": _get("The focus monitor: live view with the overlay, the state banner, blur as a share of the CoC.",
                  _answer("An HTML page.", {"type": "string"}, "text/html"), "monitor"),
        "/login": {**_get("The login form (servers bound beyond loopback).", _answer("An HTML page.", {"type": "string"},
                                                                                        "text/html"), "loginForm"),
                   "post": {"summary": "Log in with the token; sets the page's cookie.", "operationId": "login",
                            "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
                                "schema": {"type": "object", "properties": {"token": {"type": "string"}}}}}},
                            "responses": {"303": {"description": "Logged in: on to the monitor."},
                                          "401": _REFUSALS["401"]}}},
        "/openapi.json": _get("This schema.", _answer("OpenAPI 3.1", {"type": "object"}), "openapi"),
        "/api/status": _get("The newest frame's verdict, its age and the camera.", _answer("The status.", status), "status"),
        "/api/frame.jpg": _get("The newest frame with the overlay, as one JPEG.",
                               _answer("A JPEG.", {"type": "string", "format": "binary"}, "image/jpeg"), "frame"),
        "/api/stream.mjpg": _get("Live view with the overlay as a stream of JPEGs (the newest frame each time).",
                                 _answer("multipart/x-mixed-replace of JPEGs.", {"type": "string", "format": "binary"},
                                         "multipart/x-mixed-replace"), "stream"),
        "/api/events": _get("WebSocket: a `focus` message per processed frame (the status fields), and `alarm`, "
                            "`camera`, `captured`, `checked`, `stack` events; a slow client gets the newest, never a queue.",
                            _answer("Switching protocols (WebSocket)."), "events"),
        "/api/lock": _post("Follow up to four features and lock on them where they are now.",
                           _json_body({"roi": _BOX, "rois": {"type": "array", "items": _BOX, "minItems": 1, "maxItems": 4},
                                       "timeout_s": _TIMEOUT}, one_of=[{"required": ["roi"]}, {"required": ["rois"]}]),
                           _answer("Locked: the status.", status), "lock"),
        "/api/unlock": _post("Unlock (the features stay followed).", None, _answer("The status.", status), "unlock"),
        "/api/wait-sharp": _post(
            "Wait until every locked feature is SHARP (blur at most max_coc_share of the CoC) on fresh frames taken "
            "after the request came; never true on a stale frame, an UNCERTAIN feature or a lost track.",
            _json_body({"timeout_s": _TIMEOUT, "max_coc_share": {"type": "number", "minimum": 0.01, "maximum": 1},
                        "frames": {"type": "integer", "minimum": 1, "maximum": 100}}),
            _answer("Whether it was sharp in time.", {"type": "object", "required": ["sharp", "state", "waited_s"],
                                                      "properties": {"sharp": {"type": "boolean"}, "state": _STATE,
                                                                     "waited_s": {"type": "number"},
                                                                     "frames": {"type": "integer"}, "status": status}}),
            "waitSharp"),
        "/api/drive": _post("Drive focus by a number of steps (the camera's own steps).",
                            _json_body({"steps": {"type": "integer", "minimum": -MAX_DRIVE_STEPS, "maximum": MAX_DRIVE_STEPS},
                                        "timeout_s": _TIMEOUT}, ["steps"]),
                            _answer("The steps moved.", {"type": "object", "properties": {
                                "steps": {"type": "integer"}, "moved_steps": {"type": "integer"}}}), "drive"),
        "/api/capture": _post("Capture, download verified and check the shot (named and logged in a studio session, "
                              "as `capture --session`).",
                              _json_body({"sku": {"type": "string", "maxLength": 64}, "timeout_s": _TIMEOUT}),
                              _answer("The files and the verdict.", {"type": "object", "properties": {
                                  "files": {"type": "array", "items": {"type": "string"}}, "shot": {"type": "object"},
                                  "checks": {"type": "array"}, "text": {"type": "string"}}}), "capture"),
        "/api/sku": _post("The product code that names the next shots (studio sessions).",
                          _json_body({"sku": {"type": "string", "maxLength": 64}}, ["sku"]),
                          _answer("The code.", {"type": "object", "properties": {"sku": {"type": "string"}}}), "setSku"),
        "/api/marks/{name}/go": {"post": {
            "summary": "Drive back to a named focus mark and find its best focus again (as `focuslock mark go`).",
            "operationId": "markGo",
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 40}}],
            "requestBody": _json_body({"timeout_s": _TIMEOUT}),
            "responses": {"200": _answer("Where the drive is now.", {"type": "object", "properties": {
                "name": {"type": "string"}, "position_steps": {"type": "integer"},
                "moved_from_mark_steps": {"type": "number"}}}),
                "404": _answer("No such mark.", {"$ref": "#/components/schemas/Error"}), **_REFUSALS}}},
        "/api/stack": _post("Shoot a focus stack by drive steps (as `stack-shoot --near-steps --far-steps`) or from "
                            "one mark to another (as `stack-shoot --from-mark --to-mark`), a `stack` event per slice.",
                            _json_body({"near_steps": {"type": "integer", "minimum": 0, "maximum": MAX_DRIVE_STEPS},
                                        "far_steps": {"type": "integer", "minimum": 0, "maximum": MAX_DRIVE_STEPS},
                                        "from_mark": {"type": "string"}, "to_mark": {"type": "string"},
                                        "every_steps": {"type": "integer", "minimum": 1, "maximum": MAX_DRIVE_STEPS},
                                        "timeout_s": _TIMEOUT}, ["every_steps"]),
                            _answer("The stack's folder and files; why it stopped early, if it did.", {
                                "type": "object", "properties": {
                                    "folder": {"type": "string"}, "planned_slices": {"type": "integer"},
                                    "slices": {"type": "integer"}, "files": {"type": "array", "items": {"type": "string"}},
                                    "stopped": {"type": ["string", "null"]}}}), "stack"),
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "focuslock serve", "version": __version__,
                 "description": "A focus gate for machines and a focus monitor for browsers (docs/API.md)."},
        "paths": paths,
        "components": {
            "schemas": {"Status": _STATUS, "Feature": _FEATURE, "Error": _ERROR},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "cookie": {"type": "apiKey", "in": "cookie", "name": "focuslock_token"}},
        },
        "security": [{}, {"bearer": []}, {"cookie": []}],
    }
