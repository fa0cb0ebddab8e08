"""Home: describe an app, pick an example, reopen a project, or import one."""

import reflex as rx

from builder.components.attachments import attach_button, attachments_row
from builder.components.connect_model import how_to_connect
from builder.components.layout import error_callout, top_bar
from builder.components.project_menu import trash_list
from builder.components.usage_meters import quota_callout
from builder.state.account import QuotaNoteState
from builder.state.auth import AuthState
from builder.state.home import EXAMPLE_PROMPTS, HomeState, ProjectCard
from builder.state.machine import MachineState

UPLOAD_ID = "import_zip"


def mode_choice() -> rx.Component:
    """Build at once, or Plan mode: a plan to read and edit first (pages, data, acceptance checks)."""
    return rx.segmented_control.root(
        rx.segmented_control.item("Build now", value="build", id="mode-build"),
        rx.segmented_control.item("Plan first", value="plan", id="mode-plan"),
        value=rx.cond(HomeState.plan_first, "plan", "build"),
        on_change=HomeState.set_mode,
        size="2",
        aria_label="How to start",
        class_name="mode-choice",
    )


def prompt_box() -> rx.Component:
    return rx.vstack(
        rx.heading("Describe the app you want", size="8", weight="bold", text_align="center"),
        rx.text(
            "Say it in your own words. Forja writes the code, runs it, and gives you a link to share.",
            color=rx.color("gray", 11),
            size="4",
            text_align="center",
        ),
        rx.box(
            rx.text_area(
                value=HomeState.prompt,
                on_change=HomeState.set_prompt,
                placeholder="A booking page for my barber shop, with opening hours and a form to pick a time...",
                rows="4",
                size="3",
                width="100%",
                id="prompt",
                aria_label="Describe the app you want",
            ),
            width="100%",
        ),
        attachments_row(),
        rx.flex(
            attach_button("prompt"),
            rx.text(
                HomeState.mode_note,
                rx.cond(HomeState.mode_note != "", rx.fragment(" ", how_to_connect("1"))),
                size="1",
                color=rx.color("gray", 11),
                id="mode-note",
                class_name="mode-note",
            ),
            mode_choice(),
            rx.button(
                rx.cond(HomeState.plan_first, rx.icon("list-checks", size=16), rx.icon("sparkles", size=16)),
                rx.cond(HomeState.plan_first, "Plan it", "Build it"),
                size="3",
                on_click=HomeState.build,
                loading=HomeState.building,
                id="build-button",
                class_name="build-button",
            ),
            align="center",
            width="100%",
            class_name="prompt-actions",
        ),
        rx.flex(
            rx.foreach(
                EXAMPLE_PROMPTS,
                lambda text: rx.button(
                    text,
                    variant="soft",
                    color_scheme="gray",
                    radius="full",
                    size="2",
                    on_click=HomeState.use_example(text),
                    class_name="example-chip",
                ),
            ),
            wrap="wrap",
            spacing="2",
            justify="center",
            class_name="example-chips",
        ),
        spacing="4",
        align="center",
        width="100%",
        max_width="760px",
    )


def _name_file_input(upload: rx.Component, name: str) -> rx.Component:
    """rx.upload makes its hidden file input with no attributes of ours, yet a screen reader reaches it: it gets a name."""
    zone = upload.children[0]
    for child in zone.children:
        if isinstance(child, rx.Component) and child.tag == "input":
            child.custom_attrs["aria-label"] = name
    return upload


def import_box() -> rx.Component:
    return _name_file_input(import_zone(), "Choose a project to import: a .zip or a JSON file tree")


def git_import_form() -> rx.Component:
    """Or a git repository's address (and a branch or tag), for a project that lives in git already."""
    return rx.form(
        rx.flex(
            rx.input(
                name="git_url",
                placeholder="or a git URL: https://github.com/owner/repo.git",
                aria_label="A git repository's address to import",
                id="git-url",
                flex="3",
                min_width="220px",
            ),
            rx.input(
                name="git_ref",
                placeholder="branch or tag",
                aria_label="Branch or tag (optional)",
                id="git-ref",
                flex="1",
                min_width="120px",
            ),
            rx.button("Import from git", type="submit", variant="soft", loading=HomeState.importing, id="git-import"),
            spacing="2",
            wrap="wrap",
            width="100%",
        ),
        on_submit=HomeState.import_git,
        width="100%",
        max_width="760px",
    )


def import_zone() -> rx.Component:
    return rx.upload.root(
        rx.hstack(
            rx.icon("folder-up", size=20, color=rx.color("gray", 10)),
            rx.cond(
                HomeState.importing,
                rx.hstack(rx.spinner(size="2"), rx.text("Importing...", size="2"), align="center"),
                rx.text(
                    "Import a project: drop a .zip (or a JSON file tree) here, or click to choose one",
                    size="2",
                    color=rx.color("gray", 11),
                ),
            ),
            align="center",
            spacing="3",
            justify="center",
        ),
        id=UPLOAD_ID,
        multiple=False,
        accept={"application/zip": [".zip"], "application/x-zip-compressed": [".zip"], "application/json": [".json"]},
        on_drop=HomeState.import_zip(rx.upload_files(upload_id=UPLOAD_ID)),
        border=f"1px dashed {rx.color('gray', 7)}",
        border_radius="10px",
        padding="1em",
        width="100%",
        max_width="760px",
        cursor="pointer",
        _hover={"background": rx.color("gray", 2)},
    )


def project_picture(project: ProjectCard) -> rx.Component:
    """The last screenshot Forja saw work, or the project's initial in a box of the same size."""
    return rx.inset(
        rx.cond(
            project.thumbnail != "",
            rx.image(src=project.thumbnail, alt=project.name, loading="lazy", class_name="project-thumb"),
            rx.box(rx.text(project.initial), class_name="project-thumb project-thumb-empty", aria_hidden="true"),
        ),
        side="top",
        pb="current",
        clip="padding-box",
    )


def app_badge(project: ProjectCard) -> rx.Component:
    """Over the card's picture: a link to the published app (a new tab), or that it was taken down. Beside the card's
    own link, not in it: a link inside a link is no HTML."""
    return rx.fragment(
        rx.cond(
            project.app_state == "live",
            rx.link(
                rx.box(class_name="project-app-dot", aria_hidden="true"),
                "Live",
                rx.icon("external-link", size=12, aria_hidden="true"),
                href=project.app_url,
                is_external=True,
                title=project.app_url,
                aria_label="Live: open the published app of " + project.name + " (new tab)",
                class_name="project-app project-app-live",
            ),
        ),
        rx.cond(
            project.app_state == "unpublished",
            rx.text("Taken down", size="1", title="Its address answers that it was taken down", class_name="project-app"),
        ),
    )


def project_card(project: ProjectCard) -> rx.Component:
    return rx.box(project_link(project), app_badge(project), class_name="project-card-box")


def project_link(project: ProjectCard) -> rx.Component:
    return rx.link(
        rx.card(
            project_picture(project),
            rx.vstack(
                rx.text(project.name, weight="bold", size="3", trim="both", class_name="project-name"),
                rx.hstack(
                    rx.badge(project.stack, color_scheme="orange", variant="soft"),
                    rx.text(f"v{project.version}", size="1", color=rx.color("gray", 11)),
                    rx.text(project.files, size="1", color=rx.color("gray", 11)),
                    spacing="2",
                    align="center",
                ),
                rx.text("Changed ", project.updated, size="1", color=rx.color("gray", 11)),
                rx.cond(
                    project.shared != "",
                    rx.badge(
                        rx.icon("users", size=12), project.shared, color_scheme="blue", variant="soft", class_name="shared-badge"
                    ),
                ),
                spacing="2",
                align="start",
            ),
            width="100%",
            height="100%",
            _hover={"border_color": rx.color("orange", 8)},
        ),
        href="/p/" + project.id,
        underline="none",
        class_name="project-card",
    )


def recent_projects() -> rx.Component:
    return rx.vstack(
        rx.heading("Your projects", size="4"),
        rx.cond(
            HomeState.projects.length() > 0,
            rx.grid(
                rx.foreach(HomeState.projects, project_card),
                columns=rx.breakpoints(initial="1", sm="2", md="3"),
                spacing="4",
                width="100%",
            ),
            rx.text("Nothing here yet. Describe an app above, or import a zip.", color=rx.color("gray", 11), size="2"),
        ),
        rx.cond(
            HomeState.projects.length() < HomeState.total,
            rx.button(
                "Show more (",
                HomeState.projects.length(),
                " of ",
                HomeState.total,
                " shown)",
                on_click=HomeState.show_more,
                variant="soft",
                id="show-more-projects",
            ),
        ),
        width="100%",
        max_width="760px",  # the prompt column's: one left edge down the page
        spacing="3",
        align="start",
    )


def docker_note() -> rx.Component:
    """Docker previews being prepared (or failing to be): a person should not wonder why previews run locally."""
    return rx.cond(
        MachineState.docker_note != "",
        rx.callout(
            rx.text(
                MachineState.docker_note,
                rx.cond(
                    MachineState.docker_failed,
                    " Previews run in the local runner. ",
                    " Until then, previews run in the local runner. ",
                ),
                rx.link("What can this machine run?", href="/doctor"),
                size="2",
            ),
            icon="container",
            color_scheme=rx.cond(MachineState.docker_failed, "red", "blue"),
            width="100%",
            max_width="760px",
            id="docker-note",
        ),
    )


def home_page() -> rx.Component:
    return rx.vstack(
        top_bar(
            rx.spacer(),
            # With accounts the person's menu links the admin page, for admins; without them the one user is its admin.
            rx.cond(
                ~AuthState.accounts_on, rx.link("Admin", href="/admin", size="2", color=rx.color("gray", 11), id="admin-link")
            ),
            rx.link("This machine", href="/doctor", size="2", color=rx.color("gray", 11)),
            rx.link("API docs", href="/api/docs", size="2", color=rx.color("gray", 11), is_external=True),
        ),
        rx.vstack(
            prompt_box(),
            docker_note(),
            # Its own box, so the note is read when the page opens; without a note it takes no room.
            rx.box(
                quota_callout(QuotaNoteState.quota_note, QuotaNoteState.quota_full, width="100%", max_width="760px"),
                on_mount=QuotaNoteState.check,
                display="contents",
            ),
            error_callout(HomeState.error, HomeState.dismiss_error, max_width="760px"),
            import_box(),
            git_import_form(),
            rx.box(height="1em"),
            recent_projects(),
            trash_list(),
            align="center",
            spacing="5",
            padding="3em 1.5em",
            width="100%",
        ),
        spacing="0",
        min_height="100vh",
        background=rx.color("gray", 2),
    )
