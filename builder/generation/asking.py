"""Ask mode: a question about the project, answered from its files with the places it relies on, changing nothing.

The model answers through the `answer_question` tool: the answer in plain words and its references, each a file and
a line as the files were shown to it (numbered). References to a file or line the project does not have are dropped.
Offline (no model), Forja cannot read a question: it answers with the lines that mention the question's words.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from builder.errors import GenerationError
from builder.filetree import text_of
from builder.generation.prompts import relevant_files
from builder.generation.providers.base import Message, ModelRequest, Provider, ToolSpec, UsageReport
from builder.generation.tool_call import call_tool
from builder.schemas import CodeReference as Reference

log = logging.getLogger(__name__)

ASK_MAX_TOKENS = 2048
MAX_ANSWER_CHARS = 6000
MAX_REFERENCES = 8
# Offline: the lines shown for a question's words, and the words too common to search for.
OFFLINE_LINES = 6
_COMMON = set(
    "the and for are was were where what which who whom why how does did this that these those with from into when "
    "then than there their its it's can could would should will shall have has had not but all any our your you "
    "app page project code file files line lines".split()
)

ANSWER_TOOL = ToolSpec(
    name="answer_question",
    description="Answer the person's question about their project from its files, and say where in the files.",
    input_schema={
        "type": "object",
        "properties": {
            "answer": {
                "type": "string",
                "description": "The answer in plain words, in the person's language; name places as path:line.",
            },
            "references": {
                "type": "array",
                "description": f"The places the answer relies on, most important first, at most {MAX_REFERENCES}.",
                "items": {
                    "type": "object",
                    "properties": {
                        "path": {"type": "string", "description": "The file's path, as listed."},
                        "line": {"type": "integer", "description": "The line's number, as the file was shown."},
                        "note": {"type": "string", "description": "What is there, in a few words."},
                    },
                    "required": ["path", "line"],
                },
            },
        },
        "required": ["answer", "references"],
    },
)

ASK_SYSTEM_PROMPT = f"""You are Forja, an expert web developer. The person asks a question about the project of \
their app. Answer only by calling the `{ANSWER_TOOL.name}` tool, once.

Rules:
- Answer from the files shown (each line is numbered); change nothing and propose no edit unless asked how.
- Write in the person's language, in plain words: they may not program. Be short: a few sentences.
- Name each place you rely on as path:line in the answer, and list them in `references` with the line's number as
  shown. If the files shown do not answer the question, say so plainly.
"""


class AnswerDraft(BaseModel):
    answer: str = Field(max_length=MAX_ANSWER_CHARS)
    references: list[Reference] = Field(default_factory=list)


def _numbered(text: str) -> str:
    return "\n".join(f"{n:>4}| {line}" for n, line in enumerate(text.splitlines(), 1))


def ask_request(question: str, tree: Mapping[str, bytes], budget: int) -> ModelRequest:
    """The question with the project's file list and the files that matter for it, numbered by line."""
    listing = "\n".join(f"- {path}" for path in sorted(tree))
    parts = [f"Files in the project:\n{listing}"]
    for path in relevant_files(tree, question, budget):
        parts.append(f'<file path="{path}">\n{_numbered(text_of(tree[path]) or "")}\n</file>')
    parts.append(f"The person asks:\n\n{question}")
    return ModelRequest(
        system=ASK_SYSTEM_PROMPT,
        messages=[Message("user", "\n\n".join(parts))],
        max_tokens=ASK_MAX_TOKENS,
        prompt=question,
        tool=ANSWER_TOOL,
    )


def kept_references(references: list[Reference], tree: Mapping[str, bytes]) -> list[Reference]:
    """The references to a text file and line the project has, without repeats, at most MAX_REFERENCES."""
    kept: list[Reference] = []
    for ref in references:
        text = text_of(tree[ref.path]) if ref.path in tree else None
        if (
            text is not None
            and ref.line <= max(1, len(text.splitlines()))
            and (ref.path, ref.line) not in {(k.path, k.line) for k in kept}
        ):
            kept.append(ref)
    return kept[:MAX_REFERENCES]


async def draft_answer(provider: Provider, request: ModelRequest) -> tuple[AnswerDraft, UsageReport]:
    text, usage = await call_tool(provider, request, "answer")
    try:
        raw: Any = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("not an object")
        draft = AnswerDraft.model_validate({**raw, "answer": str(raw.get("answer", ""))[:MAX_ANSWER_CHARS]})
    except (ValueError, ValidationError) as exc:
        log.warning("the model's answer could not be read: %s", exc)
        raise GenerationError("The model's answer was not complete or not readable. Ask again.") from exc
    if not draft.answer.strip():
        raise GenerationError("The model gave an empty answer. Ask again, perhaps in other words.")
    return draft, usage


def offline_answer(question: str, tree: Mapping[str, bytes]) -> AnswerDraft:
    """Without a model: the lines that mention most of the question's words, as references."""
    words = {w for w in re.findall(r"[^\W\d_]{3,}", question.casefold()) if w not in _COMMON}
    found: list[tuple[int, str, int, str]] = []
    for path in sorted(tree):
        text = text_of(tree[path])
        if text is None or not words:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            lowered = line.casefold()
            if hits := sum(word in lowered for word in words):
                found.append((-hits, path, number, _around(line, lowered, words)))
    found.sort()
    references = [Reference(path=path, line=number, note=line) for _, path, number, line in found[:OFFLINE_LINES]]
    searched = ", ".join(f"\u201c{w}\u201d" for w in sorted(words)) or "nothing (no word to search for)"
    if not references:
        answer = f"Offline (no model), Forja cannot read questions. It searched the files for {searched}: no line has them."
    else:
        places = "; ".join(f"{r.path}:{r.line}" for r in references)
        answer = (
            f"Offline (no model), Forja cannot read questions. It searched the files for {searched}; "
            f"the lines with the most of them are: {places}."
        )
    return AnswerDraft(answer=answer, references=references)


def _around(line: str, lowered: str, words: set[str], width: int = 100) -> str:
    """The part of a long line around the first of `words` in it."""
    first = min(at for word in words if (at := lowered.find(word)) >= 0)
    start = max(0, first - width // 3)
    part = line[start : start + width].strip()
    return ("\u2026" if start else "") + part + ("\u2026" if start + width < len(line.rstrip()) else "")
