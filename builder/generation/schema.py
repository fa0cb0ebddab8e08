"""The one contract every provider answers in: the `emit_file_tree` tool.

The JSON schema sent to the models and the pydantic model that validates their answers live
here together, so the prompts, the providers and the tests cannot drift apart.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field

from builder.filetree import normalize_path

TOOL_NAME = "emit_file_tree"
TOOL_DESCRIPTION = (
    "Write the project. Use `files` for new files and for files you rewrite completely, `edits` for "
    "small exact search/replace changes to existing files, and `delete` for files to remove. "
    "Always fill `title` and a one-paragraph `summary` of what you did, in plain words for a non-programmer."
)

TOOL_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "description": "Short name of the app, e.g. 'Barber shop booking'."},
        "summary": {"type": "string", "description": "What you built or changed, in two or three plain sentences."},
        "stack": {"type": "array", "items": {"type": "string"}, "description": "e.g. ['react', 'vite', 'tailwind']"},
        "files": {
            "type": "array",
            "description": "Whole files to write, each complete. Relative POSIX paths.",
            "items": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
                "required": ["path", "content"],
            },
        },
        "edits": {
            "type": "array",
            "description": "Exact search/replace edits on existing files; `search` must appear exactly once in the file.",
            "items": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "search": {"type": "string"}, "replace": {"type": "string"}},
                "required": ["path", "search", "replace"],
            },
        },
        "delete": {"type": "array", "items": {"type": "string"}, "description": "Paths of files to remove."},
    },
    "required": ["title", "summary", "files"],
}


# A path that passed the import rules, in canonical form.
SafePath = Annotated[str, AfterValidator(normalize_path)]


class FileWrite(BaseModel):
    path: SafePath
    content: str


class FileEdit(BaseModel):
    path: SafePath
    search: str = Field(min_length=1)
    replace: str


class FileTreeAnswer(BaseModel):
    """A validated `emit_file_tree` input. Paths obey the same rules as imports."""

    title: str = ""
    summary: str = ""
    stack: list[str] = Field(default_factory=list)
    files: list[FileWrite] = Field(default_factory=list)
    edits: list[FileEdit] = Field(default_factory=list)
    delete: list[SafePath] = Field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.files or self.edits or self.delete)
