"""The app's own secrets kept from a model (builder/generation/hidden.py): hidden by the words that name them, put
back where the model writes those words, longest first, binary files untouched."""

from __future__ import annotations

from builder.app_secrets import private_values
from builder.generation.hidden import HiddenValues

STRIPE = "sk_live_" + "51Hx9aQ2bC3dE4fG"
SHORT = "pw-4e9a1c7b"


def hidden() -> HiddenValues:
    env = {"STRIPE_KEY": STRIPE, "STRIPE_KEY_PART": STRIPE[:12], "VITE_TITLE": "Public-title-1", "MODE": "production"}
    return HiddenValues(private_values(env, ("VITE_",), {"live": SHORT}))


def test_private_values_are_hidden_by_name_and_public_or_plain_ones_are_not() -> None:
    text = f"const key = '{STRIPE}'; const title = 'Public-title-1'; const mode = 'production'; db('{SHORT}')"
    shown = hidden().hide(text)
    assert STRIPE not in shown and SHORT not in shown and STRIPE[:12] not in shown
    # The longer value is hidden whole, not as its shorter part followed by the rest.
    assert "const key = '[hidden: the value of STRIPE_KEY]'" in shown
    assert "db('[hidden: the password of the app's live database]')" in shown
    assert "'Public-title-1'" in shown and "'production'" in shown  # public by its prefix; a plain word
    assert hidden().restore(shown) == text


def test_a_placeholder_the_model_writes_becomes_the_value_and_other_text_is_left_alone() -> None:
    values = hidden()
    assert values.restore("headers: {key: '[hidden: the value of STRIPE_KEY]'}") == f"headers: {{key: '{STRIPE}'}}"
    assert values.restore("[hidden: the value of NOT_A_VARIABLE]") == "[hidden: the value of NOT_A_VARIABLE]"
    assert HiddenValues().hide(STRIPE) == STRIPE  # an app with no variables hides nothing


def test_a_tree_keeps_its_binary_files_as_they_are() -> None:
    picture = b"\x89PNG\r\n\x1a\n\x00" + STRIPE.encode()
    tree = {"src/App.jsx": f"fetch(url, {{key: '{STRIPE}'}})".encode(), "logo.png": picture}
    shown = hidden().hide_tree(tree)
    assert shown["logo.png"] == picture
    assert shown["src/App.jsx"] == b"fetch(url, {key: '[hidden: the value of STRIPE_KEY]'})"
