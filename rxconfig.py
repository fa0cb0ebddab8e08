"""Reflex configuration: Forja's builder app; its values come from builder.settings."""

import os
import sys

import reflex as rx
from reflex.plugins.sitemap import SitemapPlugin

from builder.launch.bundle import ChunkGroups
from builder.launch.compress import use_for_reflex_builds
from builder.launch.window_libraries import RadixOffWindow
from builder.settings import settings

if refusal := settings.open_without_accounts():
    sys.exit(refusal)

# One Forja worker is one process: its previews, their proxy (on FORJA_PREVIEW_PORT) and their runner live in it. With
# REDIS_URL Reflex would start several backend processes per `reflex run`, each with its own proxy on that one port;
# more workers are more `reflex run`s (each with its own ports), on this machine or others, sharing Redis.
os.environ.setdefault("GRANIAN_WORKERS", "1")

# The build's brotli files are Forja's: Reflex's own would spend most of a minute on Monaco (builder/launch/compress.py).
use_for_reflex_builds()

config = rx.Config(
    app_name="builder",
    frontend_port=settings.port,
    backend_port=settings.port,
    backend_host=settings.host,
    api_url=settings.public_url or f"http://localhost:{settings.port}",
    deploy_url=settings.base_url,
    # Previews and other sites are other origins: they may not call the API or open the state socket.
    cors_allowed_origins=settings.builder_origins,
    # Several workers share the page's state through Redis (and Forja's generations and logs: builder.cluster).
    redis_url=settings.redis_url or None,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="orange", gray_color="slate", radius="medium")),
        ChunkGroups(),
        RadixOffWindow(),
    ],
    # Each file of the build is compressed once, when it is built, both ways: brotli (about a fifth smaller than gzip)
    # for browsers that accept it, gzip (level 9) for the others.
    frontend_compression_formats=["brotli", "gzip"],
    disable_plugins=[SitemapPlugin],
)
