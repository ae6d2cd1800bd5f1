"""``vaekit explore``: the latent space, live, in a local web page.

Decoding happens in this server through the model, behind a small JSON API, rather than in the
page from an exported decoder: the page then works for every model family and decoder vaekit
has (MLP or conv, Bernoulli or Gaussian) with no export step and no JavaScript ML runtime, and a
decode of one point costs well under a millisecond here. The server binds to 127.0.0.1 by
default, validates every request (coordinates finite and bounded, counts capped), and serves
nothing but its one page and the API — no files from disk.

    GET /                  the page (HTML, CSS and JS inline)
    GET /api/info          latent size, the plane shown, encoded test points and labels
    GET /api/decode?z=a,b,...               one decoded example as a PNG data URL
    GET /api/interpolate?a=...&b=...&steps=N  the decoded straight line from a to b

A conditional run's page has a selector per condition column; decode and interpolate then take
``c=name=value,...`` (checked by the run like ``vaekit sample --condition``).
"""

from __future__ import annotations

import base64
import io
import json
import math
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs, urlparse

import numpy as np
import torch

from vaekit.core.errors import VaekitError
from vaekit.core.progress import log
from vaekit.runs.run import Run

MAX_ABS_Z = 10.0  # codes further out than this are refused: nothing lives there
MAX_STEPS = 32
MAX_QUERY = 8192  # characters
MAX_POINTS = 2000  # encoded test points sent to the page


class BadRequest(Exception):
    pass


class Explorer:
    """The model-facing half: turns validated requests into JSON-ready answers."""

    def __init__(self, run: Run, points: int = MAX_POINTS) -> None:
        from vaekit.metrics.latent import latent_statistics

        self.run = run
        data = run.data().take(slice(0, points))  # the held-out split
        codes = run.encode(data)[0]
        activity = latent_statistics(run.model, data.x, conditions=data.conditions)["activity"]
        order = [int(i) for i in np.argsort(activity)[::-1]]
        self.latent_dim = codes.shape[1]
        self.plane = order[:2] if self.latent_dim > 1 else [0, 0]
        spread = np.abs(codes[:, self.plane]).max() if len(codes) else 3.0
        self.extent = float(min(MAX_ABS_Z, max(3.0, math.ceil(spread))))
        self.info = {
            "latent_dim": self.latent_dim,
            "plane": self.plane,
            "extent": self.extent,
            "kind": run.kind,
            "shape": list(run.model.input_shape),
            "points": codes[:, self.plane].astype(np.float64).round(4).tolist(),
            "labels": None if data.labels is None else data.labels.tolist(),
            "model": run.config.model.model,
            "run": run.path.name,
            "conditions": condition_controls(run, data.conditions),
        }

    def parse_z(self, text: str | None) -> np.ndarray:
        if text is None:
            raise BadRequest("missing z")
        try:
            values = [float(v) for v in text.split(",")]
        except ValueError:
            raise BadRequest("z must be comma-separated numbers") from None
        if len(values) != self.latent_dim:
            raise BadRequest(f"z must have {self.latent_dim} numbers, got {len(values)}")
        z = np.asarray(values, dtype=np.float64)
        if not np.isfinite(z).all() or np.abs(z).max() > MAX_ABS_Z:
            raise BadRequest(f"z must be finite and within ±{MAX_ABS_Z}")
        return z.astype(np.float32)

    def decode(self, z: np.ndarray, condition: str | None = None) -> list[str]:
        """Decoded codes as PNG data URLs; a conditional run decodes with ``condition``
        ("name=value,...", all rows alike), refused as a bad request when it does not fit."""
        z = np.atleast_2d(z)
        if self.run.model.conditional and not condition:
            raise BadRequest("this run is conditional: give c=name=value")
        try:
            with torch.no_grad():
                out = self.run.decode(
                    torch.as_tensor(z), model_space=True, condition=condition or None
                )
        except VaekitError as err:
            raise BadRequest(str(err)) from None
        return [png_data_url(example, self.run.kind) for example in out]


def condition_controls(run: Run, conditions: torch.Tensor | None) -> list[dict] | None:
    """What the page's condition selectors offer: per condition column its name, its values
    (categories) or range (numbers), and the first held-out example's value as the start."""
    if conditions is None or not len(conditions):
        return None
    from vaekit.data.schema import decode_conditions
    from vaekit.data.table import spell

    first = decode_conditions(run.schema.conditions, conditions[:1].numpy())
    controls = []
    for column in run.schema.conditions:
        control = {"name": column.name, "value": spell(first.column(column.name))[0]}
        if column.categories:
            control["values"] = list(column.categories)
        else:
            control["range"] = [column.lo, column.hi]
        controls.append(control)
    return controls


def png_data_url(example: np.ndarray, kind: str) -> str:
    """One decoded example as a PNG data URL: the image itself, or bars for a table row."""
    from PIL import Image, ImageDraw

    if kind == "image":
        pixels = (np.clip(example, 0, 1) * 255 + 0.5).astype(np.uint8)  # (C, H, W)
        image = Image.fromarray(pixels[0] if pixels.shape[0] == 1 else pixels.transpose(1, 2, 0))
    else:
        values = np.clip(example.reshape(-1), -3, 3)
        image = Image.new("L", (8 * len(values), 60), 255)
        draw = ImageDraw.Draw(image)
        for i, v in enumerate(values):
            y = 30 - v * 9
            draw.rectangle([8 * i + 1, min(30, y), 8 * i + 6, max(30, y)], fill=60)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def make_handler(explorer: Explorer) -> type[BaseHTTPRequestHandler]:
    page = resources.files("vaekit.views").joinpath("explorer.html").read_bytes()

    class Handler(BaseHTTPRequestHandler):
        server_version = "vaekit-explore"

        def log_message(self, format: str, *args: object) -> None:  # quiet by default
            pass

        def send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(body)

        def send_json(self, status: int, data: object) -> None:
            self.send(status, json.dumps(data).encode(), "application/json")

        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            if len(self.path) > MAX_QUERY:
                self.send_json(HTTPStatus.REQUEST_URI_TOO_LONG, {"error": "request too long"})
                return
            url = urlparse(self.path)
            query = parse_qs(url.query, max_num_fields=8)
            one = {k: v[0] for k, v in query.items()}
            try:
                if url.path in ("/", "/index.html"):
                    self.send(HTTPStatus.OK, page, "text/html; charset=utf-8")
                elif url.path == "/api/info":
                    self.send_json(HTTPStatus.OK, explorer.info)
                elif url.path == "/api/decode":
                    z = explorer.parse_z(one.get("z"))
                    image = explorer.decode(z, one.get("c"))[0]
                    self.send_json(HTTPStatus.OK, {"z": z.tolist(), "image": image})
                elif url.path == "/api/interpolate":
                    a, b = explorer.parse_z(one.get("a")), explorer.parse_z(one.get("b"))
                    try:
                        steps = int(one.get("steps", "8"))
                    except ValueError:
                        raise BadRequest("steps must be a whole number") from None
                    if not 2 <= steps <= MAX_STEPS:
                        raise BadRequest(f"steps must be between 2 and {MAX_STEPS}")
                    t = np.linspace(0, 1, steps, dtype=np.float32)[:, None]
                    images = explorer.decode((1 - t) * a + t * b, one.get("c"))
                    self.send_json(HTTPStatus.OK, {"images": images})
                else:
                    self.send_json(HTTPStatus.NOT_FOUND, {"error": "not found"})
            except BadRequest as err:
                self.send_json(HTTPStatus.BAD_REQUEST, {"error": str(err)})
            except ValueError as err:  # e.g. too many query fields
                self.send_json(HTTPStatus.BAD_REQUEST, {"error": str(err)})

        def do_POST(self) -> None:  # noqa: N802
            self.send_json(HTTPStatus.METHOD_NOT_ALLOWED, {"error": "GET only"})

    return Handler


def make_server(run: Run, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """A server for ``run`` (port 0 picks a free port); call ``serve_forever`` on it."""
    try:
        server = ThreadingHTTPServer((host, port), make_handler(Explorer(run)))
    except OSError as err:
        raise VaekitError(f"--port {port}: cannot listen on {host} ({err.strerror})") from None
    server.daemon_threads = True
    return server


def serve(run: Run, host: str = "127.0.0.1", port: int = 8000) -> None:
    server = make_server(run, host, port)
    address = f"http://{host}:{server.server_address[1]}/"
    log(f"exploring {run.path} at {address} (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
