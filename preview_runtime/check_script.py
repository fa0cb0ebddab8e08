"""Acceptance check scripts: Playwright Test files, read as data, never run as code.

A check is a file like `.forja/checks/01-add-booking.spec.js`, written by the model or a person in the Code tab:

    import { test, expect } from '@playwright/test';

    test('Add a booking for Friday 10:00: it appears in the list', async ({ page }) => {
      await page.goto('/');
      await page.getByLabel('Name').fill('Ana');
      await page.getByRole('button', { name: 'Book' }).click();
      await expect(page.getByText('Ana')).toBeVisible();
    });

It is a real Playwright Test (`npx playwright test` runs it too), in the subset this module reads: one statement a
line of `await CALLS;` or `const NAME = [await] CALLS;`, whose values are strings, numbers, booleans, regular
expressions, and arrays and objects of them. There is no loop, function or arithmetic to run: Forja parses the
statements into steps and `preview_runtime.acceptance` performs each through its own browser, on the app's origin
only. So what a model writes here cannot run anywhere, in any runner; a statement outside the subset is a
`ScriptError` that names its line and says what to write instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CHECKS_DIR = ".forja/checks/"
MAX_SCRIPT_CHARS = 20_000
MAX_STATEMENTS = 60


def is_check_path(path: str) -> bool:
    return path.startswith(CHECKS_DIR) and path.endswith((".spec.js", ".spec.ts", ".test.js", ".test.ts"))


class ScriptError(ValueError):
    """A check script Forja cannot read; the message names the line and what to change."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


# -- the syntax tree ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Value:
    """A literal: str, int, float, bool, None, a list or a dict of them."""

    value: object


@dataclass(frozen=True)
class Regex:
    pattern: str
    flags: str


@dataclass(frozen=True)
class Member:
    target: Expr
    name: str


@dataclass(frozen=True)
class Call:
    target: Expr
    args: tuple[Expr, ...]


Expr = Name | Value | Regex | Member | Call


@dataclass(frozen=True)
class Statement:
    line: int
    source: str
    expr: Expr
    binds: str | None = None  # the name a `const NAME = ...` gives the value


@dataclass
class ScriptTest:
    title: str
    line: int
    statements: list[Statement] = field(default_factory=list)


_SUBSET = (
    "write each step as `await page.…;`, `await expect(…).…;`, `expect(value).…;` or `const name = page.…;`, with plain values "
    "(no loops, functions or arithmetic)"
)


# -- tokens ---------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""(?P<space>[ \t\r\n]+|//[^\n]*|/\*.*?\*/)
    |(?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\$]|\\.|\$(?!\{))*`)
    |(?P<number>-?\d+(?:\.\d+)?)
    |(?P<name>[A-Za-z_$][\w$]*)
    |(?P<arrow>=>)
    |(?P<punct>[.,;:(){}\[\]=])
    """,
    re.VERBOSE | re.DOTALL,
)
_REGEX = re.compile(r"/((?:[^/\\\n\[]|\\.|\[(?:[^\]\\\n]|\\.)*\])+)/([dgimsuy]*)")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "b": "\b", "f": "\f", "v": "\v"}


@dataclass(frozen=True)
class _Tok:
    kind: str  # string, number, name, regex, punct, end
    text: str
    line: int
    start: int


def _unquote(text: str) -> str:
    body = text[1:-1]
    # As in JavaScript: `\u` takes four hex digits or braces, so "\u0026Co" is "&Co".
    return re.sub(r"\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|\n|.)", _unescape, body)


def _unescape(match: re.Match[str]) -> str:
    escaped = match[1]
    if escaped[0] in "ux" and len(escaped) > 1:
        code = int(escaped[1:].strip("{}"), 16)
        return chr(code) if code <= 0x10FFFF else "\ufffd"  # beyond Unicode: JavaScript refuses it, Forja marks it
    return "" if escaped == "\n" else _ESCAPES.get(escaped, escaped)


def _tokens(source: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    at = 0
    while at < len(source):
        line = source.count("\n", 0, at) + 1
        # A "/" where a value may start opens a regular expression (after "(", ",", ":", "[", "=" or at the start).
        if source[at] == "/" and source[at : at + 2] not in ("//", "/*"):
            previous = tokens[-1].text if tokens else ""
            if previous in ("(", ",", ":", "[", "=", "") and (regex := _REGEX.match(source, at)):
                tokens.append(_Tok("regex", regex[0], line, at))
                at = regex.end()
                continue
        match = _TOKEN.match(source, at)
        if match is None:
            raise ScriptError(line, f"Forja cannot read {source[at : at + 20].splitlines()[0]!r} here: {_SUBSET}.")
        kind = match.lastgroup or "punct"
        if kind != "space":
            tokens.append(_Tok("punct" if kind == "arrow" else kind, match[0], line, at))
        at = match.end()
    tokens.append(_Tok("end", "", source.count("\n") + 1, len(source)))
    return tokens


# -- the parser ---------------------------------------------------------------------------------

_KEYWORDS = {"for", "while", "do", "if", "else", "switch", "function", "return", "try", "throw", "new", "class", "var"}


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokens(source)
        self.at = 0

    @property
    def tok(self) -> _Tok:
        return self.tokens[self.at]

    def take(self, text: str | None = None, kind: str | None = None) -> _Tok:
        tok = self.tok
        if (text is not None and tok.text != text) or (kind is not None and tok.kind != kind):
            wanted = f"`{text}`" if text is not None else f"a {kind}"
            found = f"`{tok.text}`" if tok.text else "the end of the file"
            raise ScriptError(tok.line, f"expected {wanted}, found {found}.")
        self.at += 1
        return tok

    def skip(self, text: str) -> bool:
        if self.tok.text == text and self.tok.kind in ("punct", "name"):
            self.at += 1
            return True
        return False

    def script(self) -> list[ScriptTest]:
        tests: list[ScriptTest] = []
        while self.tok.kind != "end":
            if self.tok.text == "import":
                self._import()
            elif self.tok.text == "test":
                tests.append(self._test())
            else:
                raise ScriptError(
                    self.tok.line,
                    "a check file holds imports and `test('what a visitor does', async ({ page }) => { … });` only.",
                )
        if not tests:
            raise ScriptError(1, "the file has no `test('…', async ({ page }) => { … });`.")
        return tests

    def _import(self) -> None:
        line = self.take("import").line
        while self.tok.kind != "string":
            if self.tok.kind == "end" or self.tok.text == ";":
                raise ScriptError(line, "an import reads `import { test, expect } from '@playwright/test';`.")
            self.at += 1
        module = _unquote(self.take(kind="string").text)
        if module != "@playwright/test":
            raise ScriptError(line, f"a check imports only from '@playwright/test', not {module!r}.")
        self.skip(";")

    def _test(self) -> ScriptTest:
        line = self.take("test").line
        self.take("(")
        title_tok = self.take(kind="string")
        test = ScriptTest(" ".join(_unquote(title_tok.text).split()), line)
        self.take(",")
        self.take("async")
        self.take("(")
        self.take("{")
        self.take("page")
        self.take("}")
        self.take(")")
        self.take("=>")
        self.take("{")
        while not self.skip("}"):
            if len(test.statements) >= MAX_STATEMENTS:
                raise ScriptError(self.tok.line, f"a check has at most {MAX_STATEMENTS} steps; split it into two checks.")
            test.statements.append(self._statement())
        self.take(")")
        self.skip(";")
        return test

    def _statement(self) -> Statement:
        first = self.tok
        binds = None
        if first.text in ("const", "let"):
            self.at += 1
            binds = self.take(kind="name").text
            self.take("=")
            self.skip("await")
        elif not self.skip("await") and (first.kind != "name" or first.text in _KEYWORDS):
            raise ScriptError(first.line, f"`{first.text or 'end of file'}` cannot start a step: {_SUBSET}.")
        expr = self._expr()
        if self.tok.text != ";" and self.tok.text != "}" and self.tok.line == self.tokens[self.at - 1].line:
            raise ScriptError(self.tok.line, f"`{self.tok.text}` is not part of a step Forja can run: {_SUBSET}.")
        self.skip(";")
        end = self.tokens[self.at - 1]
        source = self.source[first.start : end.start + len(end.text)]
        return Statement(first.line, " ".join(source.split()), expr, binds)

    def _expr(self) -> Expr:
        expr = self._primary()
        while True:
            if self.skip("."):
                expr = Member(expr, self.take(kind="name").text)
            elif self.tok.text == "(" and self.tok.kind == "punct":
                self.at += 1
                args: list[Expr] = []
                while not self.skip(")"):
                    args.append(self._expr())
                    if not self.skip(","):
                        self.take(")")
                        break
                expr = Call(expr, tuple(args))
            else:
                return expr

    def _primary(self) -> Expr:
        tok = self.tok
        self.at += 1
        if tok.kind == "string":
            return Value(_unquote(tok.text))
        if tok.kind == "number":
            return Value(float(tok.text) if "." in tok.text else int(tok.text))
        if tok.kind == "regex":
            match = _REGEX.fullmatch(tok.text)
            assert match is not None
            return Regex(match[1], match[2])
        if tok.kind == "name" and tok.text == "await":
            return self._expr()  # every step is awaited, as Playwright's are
        if tok.kind == "name":
            literal = {"true": True, "false": False, "null": None, "undefined": None}
            return Value(literal[tok.text]) if tok.text in literal else Name(tok.text)
        if tok.text == "{":
            return Value(self._object(tok.line))
        if tok.text == "[":
            items: list[object] = []
            while not self.skip("]"):
                items.append(self._constant(tok.line))
                if not self.skip(","):
                    self.take("]")
                    break
            return Value(items)
        raise ScriptError(tok.line, f"`{tok.text or 'end of file'}` cannot be a value here: {_SUBSET}.")

    def _object(self, line: int) -> dict[str, object]:
        result: dict[str, object] = {}
        while not self.skip("}"):
            key = self.tok
            if key.kind not in ("name", "string"):
                raise ScriptError(key.line, "an option's name is a word, like `{ name: 'Book' }`.")
            self.at += 1
            self.take(":")
            result[_unquote(key.text) if key.kind == "string" else key.text] = self._constant(line)
            if not self.skip(","):
                self.take("}")
                break
        return result

    def _constant(self, line: int) -> object:
        value = self._expr()
        if isinstance(value, Regex):
            return value
        if not isinstance(value, Value):
            raise ScriptError(line, "an option's value is a string, number, true/false or /pattern/, not a call.")
        return value.value


def parse_checks(source: str) -> list[ScriptTest]:
    """The tests of one check file, in order; ScriptError when Forja cannot read it."""
    if len(source) > MAX_SCRIPT_CHARS:
        raise ScriptError(1, f"a check file is at most {MAX_SCRIPT_CHARS:,} characters; split it.")
    return _Parser(source).script()


@dataclass(frozen=True)
class Quoted:
    """A string of a check's steps: where it is in the file (its quotes included) and what it says."""

    start: int
    end: int
    value: str


def step_strings(source: str) -> list[Quoted]:
    """The strings a readable check file's steps hold, in order: not its tests' titles (the plan's words) nor its
    imports. ScriptError when Forja cannot read the file."""
    parse_checks(source)
    tokens = _tokens(source)
    quoted: list[Quoted] = []
    for at, tok in enumerate(tokens):
        before = [t.text for t in tokens[max(0, at - 2) : at]]
        if tok.kind == "string" and before != ["test", "("] and before[-1:] != ["from"]:
            quoted.append(Quoted(tok.start, tok.start + len(tok.text), _unquote(tok.text)))
    return quoted


def js_string(text: str, quote: str = '"') -> str:
    """`text` as a JavaScript string literal between `quote`s (', " or `) that reads back as `text`."""
    escaped = text.replace("\\", "\\\\").replace(quote, "\\" + quote).replace("\n", "\\n").replace("\r", "\\r")
    return quote + (escaped.replace("${", "\\${") if quote == "`" else escaped) + quote
