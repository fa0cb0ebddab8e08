"""The run command's Python half: checks, phases with their times, the page built only when it changed, the server."""
