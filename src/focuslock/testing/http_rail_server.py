"""An HTTP rail (the API of docs/RAIL-HTTP.md) on a loopback port, for tests and scripts:
it stands in for an ESP32 rail no test machine has. A real ``http.server`` on a thread."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["HttpRailServer"]


@dataclass
class HttpRailServer:
    """``start()`` returns the base URL; ``close()`` stops it."""

    unit: str = "um"
    travel: tuple[float, float] = (-50000.0, 50000.0)
    token: str | None = None
    moving_reports: int = 2
    position: float = 0.0
    moves: list[float] = field(default_factory=list)
    alarm: str | None = None
    alarm_on_move: int | None = None
    _moving: int = 0  # status reports still to say "moving"

    def start(self) -> str:
        rail = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _answer(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _allowed(self) -> bool:
                if rail.token and self.headers.get("Authorization") != f"Bearer {rail.token}":
                    self._answer(401, {"error": "a token is needed"})
                    return False
                return True

            def do_GET(self) -> None:
                if not self._allowed():
                    return
                if self.path != "/status":
                    self._answer(404, {"error": "no such route"})
                    return
                state = "alarm" if rail.alarm else ("moving" if rail._moving > 0 else "idle")
                rail._moving = max(0, rail._moving - 1)
                self._answer(200, {"state": state, "position": rail.position, "unit": rail.unit, "alarm": rail.alarm})

            def do_POST(self) -> None:
                if not self._allowed():
                    return
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    self._answer(400, {"error": "the body is not JSON"})
                    return
                if self.path == "/move":
                    by = body.get("by")
                    if rail.alarm:
                        self._answer(409, {"error": rail.alarm})
                    elif not isinstance(by, (int, float)) or isinstance(by, bool):
                        self._answer(400, {"error": "'by' must be a number"})
                    elif not rail.travel[0] <= rail.position + by <= rail.travel[1]:
                        self._answer(400, {"error": "the move would leave the rail's travel"})
                    else:
                        rail.moves.append(float(by))
                        if rail.alarm_on_move == len(rail.moves):
                            rail.alarm = "the end-stop switch was hit"
                            rail.position += by / 2
                        else:
                            rail.position += by
                        rail._moving = rail.moving_reports
                        self._answer(202, {"state": "moving"})
                elif self.path == "/stop":
                    rail._moving = 0
                    self._answer(200, {"state": "idle"})
                elif self.path == "/zero":
                    rail.position = 0.0
                    self._answer(200, {"state": "idle"})
                else:
                    self._answer(404, {"error": "no such route"})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="http-rail", daemon=True)
        self._thread.start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)
