"""Questions asked before a guess, as one small form: options to pick (radios) or words to type, and one Continue.
The planner's questions (plan_view.py) and an agent run's (chat.py) are this same form, each over its own state."""

from collections.abc import Sequence
from dataclasses import dataclass

import reflex as rx

from builder.state.views import AskedQuestion


@dataclass(frozen=True)
class QuestionForm:
    """What one form is bound to: its questions, the events a choice, typed words and Continue send, and its note."""

    questions: rx.Var[Sequence[AskedQuestion]]
    choose: rx.event.EventCallback[int, str]
    set_own: rx.event.EventCallback[int, str]
    submit: rx.event.EventCallback[()]
    note: rx.Var[str]
    busy: rx.Var[bool]
    disabled: rx.Var[bool]
    # The ids of the form, its note and its button, and the radio groups' names (one per question).
    form_id: str
    note_id: str
    button_id: str
    name: str


def _option(option: rx.Var[str]) -> rx.Component:
    return rx.text(
        rx.flex(rx.radio_group.item(value=option), rx.text(option), spacing="2", align="start"),
        as_="label",
        size="2",
        class_name="plan-option",
    )


def _question(form: QuestionForm, question: AskedQuestion, index: rx.Var[int]) -> rx.Component:
    number = (index.to(int) + 1).to_string()
    return rx.el.fieldset(
        rx.el.legend(rx.text(number, ". ", question.question, size="2", weight="medium")),
        rx.cond(
            question.choice,
            rx.radio_group.root(
                rx.flex(rx.foreach(question.options, _option), direction="column", spacing="2"),
                value=question.chosen,
                on_change=lambda option: form.choose(index, option),
                name=form.name + "-" + number,
            ),
        ),
        rx.cond(
            question.words,
            rx.input(
                value=question.own,
                on_change=lambda text: form.set_own(index, text),
                placeholder=rx.cond(question.choice, "Or say it in your own words", "Your answer"),
                size="2",
                width="100%",
                aria_label="Your own answer to question " + number,
                class_name="plan-own-answer",
            ),
        ),
        width="100%",
        class_name="plan-question",
    )


def question_form(form: QuestionForm) -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.foreach(form.questions, lambda question, index: _question(form, question, index)),
            rx.cond(
                form.note != "",
                rx.callout(form.note, icon="info", size="1", color_scheme="amber", id=form.note_id),
            ),
            rx.button(
                "Continue",
                rx.icon("arrow-right", size=14),
                size="2",
                type="submit",
                loading=form.busy,
                disabled=form.disabled,
                id=form.button_id,
                class_name="plan-continue",
            ),
            spacing="4",
            width="100%",
        ),
        on_submit=lambda _: form.submit,
        reset_on_submit=False,
        width="100%",
        id=form.form_id,
    )
