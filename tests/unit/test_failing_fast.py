"""The rules of failing fast (issue 31): what counts as the app's answer, how an error page, a full scratch place and a
step past its deadline are said. The runners' behaviour is in tests/integration/test_failfast.py."""

from __future__ import annotations

import httpx

from builder.services.verification import start_timeout_sentence
from builder.settings import settings
from preview_runtime.docker.config import DockerConfig
from preview_runtime.docker.container import NO_SPACE, no_space_sentence, scratch_named
from preview_runtime.listening import Listener, answer_overdue, error_answer, install_overdue
from preview_runtime.logs import LogLevel
from preview_runtime.preview_headers import NOT_FOUND_MARKER, WAKING, app_answered
from preview_runtime.runner import PreviewInfo, PreviewState

MiB = 1 << 20


def test_any_status_of_the_app_is_its_answer_but_forjas_pages_and_traefiks_gateway_errors_are_not() -> None:
    for status in (200, 302, 401, 404, 500, 503):
        assert app_answered(httpx.Response(status)), status
    assert not app_answered(httpx.Response(502))  # Traefik: the upstream refused the connection
    assert not app_answered(httpx.Response(504))  # Traefik: the upstream did not answer
    assert not app_answered(httpx.Response(404, headers={NOT_FOUND_MARKER: "none"}))  # the catch-all page
    assert not app_answered(httpx.Response(503, headers={NOT_FOUND_MARKER: WAKING}))  # the waking page


def test_an_error_page_is_said_as_an_error_for_5xx_and_a_warning_for_4xx() -> None:
    assert error_answer(200, 3000) is None and error_answer(302, 3000) is None
    text, level = error_answer(500, 5000) or ("", None)
    assert level == LogLevel.error  # the Logs tab offers "Fix this error" on error lines
    assert text.startswith("The app runs on port 5000, but its first page answers 500 Internal Server Error")
    text, level = error_answer(404, 5000) or ("", None)
    assert level == LogLevel.warning and "404 Not Found" in text
    assert "599 (an error)" in (error_answer(599, 1) or ("",))[0]


def test_a_full_place_is_named_from_the_lines_after_enospc() -> None:
    assert NO_SPACE.search("npm error code ENOSPC") and NO_SPACE.search("OSError: [Errno 28] No space left on device")
    assert scratch_named("npm error path /home/preview/.npm/_cacache/tmp/4f1a") == "/home/preview"
    assert scratch_named("dd: error writing '/app/big.bin': No space left on device") == "/app"
    assert scratch_named("ENOSPC: no space left on device, mkdir '/app/node_modules/.vite/deps_temp'") == "/tmp"
    assert scratch_named("write /tmp/x: no space") == "/tmp"
    assert scratch_named("head: error writing 'standard output'") == ""
    assert scratch_named("see /apple/x or /application") == ""


def test_the_no_space_sentence_names_the_limit_and_its_setting() -> None:
    config = DockerConfig(app_size_bytes=8 * MiB, home_size_bytes=32 * MiB, tmp_size_bytes=16 * MiB)
    assert no_space_sentence("/home/preview", config) == (
        "The preview ran out of space in /home/preview, which holds 32 MiB at most: raise FORJA_PREVIEW_HOME_MB (its "
        "files count as the preview's memory too, FORJA_PREVIEW_MEMORY_MB)."
    )
    unknown = no_space_sentence("", config)  # no line named a path: every place, each with its setting
    assert "/app 8 MiB (FORJA_PREVIEW_APP_MB)" in unknown and "/tmp 16 MiB (FORJA_PREVIEW_TMP_MB)" in unknown


def test_a_step_past_its_deadline_says_the_command_what_it_did_and_the_setting() -> None:
    said = install_overdue("npm install", 900.4, ["added 12 packages", "  "])
    assert said == (
        'The install (`npm install`) was still running after 900 s and was stopped (its last line was "added 12 '
        'packages"): raise FORJA_PREVIEW_INSTALL_TIMEOUT_S if it needs longer.'
    )
    listening = [Listener("127.0.0.1", 5173)]
    said = answer_overdue("vite", 240, 3000, listening, ["  VITE ready in 900 ms"])
    assert said == (
        "`vite` ran for 240 s and nothing answered HTTP on $PORT (3000): it listens on port 5173 but answers no HTTP "
        'request there, its last line was "VITE ready in 900 ms"; it was stopped: raise FORJA_PREVIEW_ANSWER_TIMEOUT_S if '
        "it needs longer."
    )
    assert ": it listens on no port, it printed nothing;" in answer_overdue("next dev", 240, 3000, [], [])


def test_a_whole_wait_that_ends_says_what_the_preview_was_still_doing() -> None:
    def info(state: PreviewState) -> PreviewInfo:
        return PreviewInfo(preview_id="p", project_id="p", version=1, runner="local", state=state)

    installing = start_timeout_sentence(info(PreviewState.installing))
    assert installing.startswith(f"The app did not answer within {settings.preview_start_timeout_s} s: it was still installing")
    assert installing.endswith("(raise FORJA_PREVIEW_START_TIMEOUT_S if it needs longer).")
    assert "its dev server was still starting and answered nothing yet" in start_timeout_sentence(info(PreviewState.starting))
    assert "it is not running" in start_timeout_sentence(None)
