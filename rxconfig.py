"""Reflex configuration: Forja's builder app; its values come from builder.settings."""

import reflex as rx

from builder.settings import settings

config = rx.Config(
    app_name="builder",
    frontend_port=settings.port,
    backend_port=settings.port,
    backend_host=settings.host,
    api_url=settings.base_url,
    deploy_url=settings.base_url,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    disable_plugins=["reflex.plugins.sitemap.SitemapPlugin"],
)
