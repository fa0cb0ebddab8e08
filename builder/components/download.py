"""A button that downloads a file the API serves, e.g. a project's zip or git bundle."""

import reflex as rx


def download_button(
    icon: str, label: str, href: rx.Var[str] | str, size: str = "1", title: str = "", element_id: str = ""
) -> rx.Component:
    """A button styled by Radix, rendered as an `<a download>` that the browser follows itself.

    Both `rx.link` and `rx.el.a` render React Router's Link, which routes `/api/...` inside the
    page and shows its "404: Page not found" instead of asking the server. `reload_document`
    leaves the click to the browser, and `download` makes it save what the address returns.
    """
    return rx.button(
        rx.el.a(
            rx.icon(icon, size=14),
            label,
            href=href,
            download=True,
            reload_document=True,
            title=title or None,
            id=element_id or None,
        ),
        as_child=True,
        size=size,  # pyright: ignore[reportArgumentType]
        variant="soft",
    )
