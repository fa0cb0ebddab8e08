"""The header's row of the other people with the project open: overlapping avatars, "+N" past a few, and on a click
(or a tap) the list of everyone with where each one is and who is generating."""

from __future__ import annotations

import reflex as rx

from builder.state.presence import Person, PresenceState


def avatar(person: Person) -> rx.Component:
    """One person's initials in their colour, with a pulsing dot while their generation runs."""
    return rx.box(
        rx.avatar(
            fallback=person.initials,
            color_scheme=person.colour,  # pyright: ignore[reportArgumentType] (a Radix colour name from the service)
            # Soft with high contrast: the initials in the colour's darkest step pass WCAG AA on every colour.
            variant="soft",
            high_contrast=True,
            radius="full",
            size="2",
        ),
        rx.cond(person.generating, rx.box(class_name="presence-generating", aria_hidden="true")),
        class_name="presence-avatar",
        title=rx.cond(
            person.generating,
            person.name + " \u00b7 " + person.where + " \u00b7 generating",
            person.name + " \u00b7 " + person.where,
        ),
        data_name=person.name,
        data_where=person.where,
        data_generating=rx.cond(person.generating, "true", "false"),
    )


def person_row(person: Person) -> rx.Component:
    return rx.hstack(
        avatar(person),
        rx.vstack(
            rx.text(person.name, size="2", weight="medium", truncate=True, max_width="100%"),
            rx.text(person.where, size="1", color=rx.color("gray", 11), truncate=True, max_width="100%"),
            spacing="0",
            min_width="0",
            flex="1",
        ),
        rx.cond(person.generating, rx.badge(rx.spinner(size="1"), "Generating", color_scheme="orange", variant="soft")),
        align="center",
        spacing="3",
        width="100%",
        class_name="presence-person",
        data_name=person.name,
    )


def present_people() -> rx.Component:
    """Nothing when the person is alone in the project."""
    return rx.cond(
        PresenceState.people.length() > 0,
        rx.popover.root(
            rx.popover.trigger(
                rx.el.button(
                    rx.foreach(PresenceState.shown_people, avatar),
                    rx.cond(
                        PresenceState.more_people > 0,
                        rx.box("+", PresenceState.more_people, class_name="presence-more", id="presence-more"),
                    ),
                    # Its name is the initials it shows, then who they are (an aria-label would hide the initials).
                    rx.el.span(" Also here: ", PresenceState.people_names, class_name="presence-names"),
                    type="button",
                    class_name="presence-row",
                    id="presence",
                )
            ),
            rx.popover.content(
                rx.text("Also here", size="1", weight="bold", color=rx.color("gray", 11)),
                rx.vstack(rx.foreach(PresenceState.people, person_row), spacing="2", width="100%", margin_top="8px"),
                width="280px",
                max_width="calc(100vw - 24px)",
                id="presence-list",
            ),
        ),
    )
