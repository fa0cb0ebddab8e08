"""One Forja worker's API alone, without its page, for the tests of co-editing across workers:
`python -m uvicorn tests.collab_worker:app`. Its services start on the first request, as get_services() does."""

from builder.api import api, guarded

app = guarded(api)
