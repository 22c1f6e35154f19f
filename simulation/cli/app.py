"""``csflow app``: the live what-if app for a workshop room, served on this machine."""

from __future__ import annotations

import socket
from pathlib import Path

import click

from simulation.cli.common import fail


@click.command("app")
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True,
              help="port to listen on")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address to listen on (0.0.0.0 lets others on the room's network in)")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="simulation processes shared by everyone using the app")
@click.option("--reps", type=click.IntRange(2, 200), default=20, show_default=True,
              help="replications each answer refines to")
@click.option("--configs", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="folder of scenarios to offer (default: the shipped configs/)")
def app_command(port: int, host: str, workers: int, reps: int, configs: Path | None) -> None:
    """Start the live what-if app; open the printed address in a browser.

    Works offline: every script and style is served from this machine.
    """
    try:
        from simulation.app.server import serve  # lazy: keeps `csflow --help` fast
    except ImportError as exc:
        fail(f"csflow app needs the app extra ({exc.name} is missing): "
             f"pip install 'csflow[app]'")
        return
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            fail(f"--port: cannot listen on {host}:{port} ({exc.strerror}); choose another port")
    serve(host, port, workers, reps, configs)
