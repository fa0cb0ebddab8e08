"""The routes a server app declares, read from its source: Express (`app.post`, `router.delete`, mounted with
`app.use(prefix, router)`), Flask (`@app.route(..., methods=[...])`, `@bp.post`, blueprints' `url_prefix`) and FastAPI
(`@app.post`, `APIRouter(prefix=...)`, `include_router(..., prefix=...)`).

Reading, not running: a route built at run time (a loop, a decorator of the app's own, Django's urlpatterns, Express's
`router.route(path).post(...)`) is not seen, so the doors probe only what is written out plainly.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from builder.filetree import SKIPPED_DIRS

CHANGES = ("POST", "PUT", "PATCH", "DELETE")
METHODS = ("GET", *CHANGES)
JS_SUFFIXES = (".js", ".mjs", ".cjs", ".ts", ".mts", ".cts")
MAX_SOURCE = 512 * 1024
# The value a path parameter gets: one id the probe guessed, the same every time.
GUESSED = "1"
GUESSED_UUID = "00000000-0000-4000-8000-000000000001"
# A value of the wrong type, for a parameter the app converts itself (`int(item_id)`).
WRONG_TYPE = "not-a-number"
# A normalised path: literal segments and {name} or {name:kind} parameters, nothing a probe could misread.
_PLAIN_PATH = re.compile(r"/(?:[A-Za-z0-9_.~-]|\{\w+(?::\w+)?\}|/)*")
_PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")

# Express: `const app = express()`, `const router = express.Router()` / `Router()` (or through `require('express')`),
# `app.post('/path', ...)`.
_REQUIRE_EXPRESS = r"(?:express|require\s*\(\s*['\"]express['\"]\s*\))"
_EXPRESS_APP = re.compile(r"\b(?:const|let|var)\s+(\w+)\s*=\s*" + _REQUIRE_EXPRESS + r"\s*\(\s*\)")
_EXPRESS_ROUTER = re.compile(r"\b(?:const|let|var)\s+(\w+)\s*=\s*(?:" + _REQUIRE_EXPRESS + r"\s*\.\s*)?Router\s*\(")
_JS_ROUTE = re.compile(r"\b(\w+)\s*\.\s*(get|post|put|patch|delete)\s*\(\s*(['\"`])([^'\"`\n]*)\3")
_JS_MOUNT = re.compile(
    r"\b(\w+)\s*\.\s*use\s*\(\s*(['\"`])([^'\"`\n]*)\2\s*,\s*(?:require\s*\(\s*(['\"])([^'\"\n]+)\4\s*\)|(\w+))"
)
_JS_IMPORT = re.compile(r"\bimport\s+(\w+)\s+from\s+(['\"])([^'\"\n]+)\2")
_JS_REQUIRE = re.compile(r"\b(?:const|let|var)\s+(\w+)\s*=\s*require\s*\(\s*(['\"])([^'\"\n]+)\2\s*\)")
_JS_EXPORT_DEFAULT = re.compile(r"\bexport\s+default\s+(\w+)|\bmodule\.exports\s*=\s*(\w+)")

# Flask and FastAPI: `app = Flask(...)`, `bp = Blueprint(..., url_prefix=...)`, `router = APIRouter(prefix=...)`.
_PY_APP = re.compile(r"^(\w+)\s*=\s*(?:flask\.|fastapi\.)?(?:Flask|FastAPI)\s*\(", re.MULTILINE)
_PY_GROUP = re.compile(r"^(\w+)\s*=\s*(?:flask\.|fastapi\.)?(?:Blueprint|APIRouter)\s*\(([^)]*)\)", re.MULTILINE)
_PY_ROUTE = re.compile(
    r"^[ \t]*@(\w+)\.(route|get|post|put|patch|delete|api_route)\(\s*[rbuf]?(['\"])([^'\"\n]*)\3([^)]*)\)", re.MULTILINE
)
_PY_MOUNT = re.compile(r"\.(register_blueprint|include_router)\(\s*(?:\w+\.)?(\w+)\s*(?:,([^)]*))?\)")
_PY_PREFIX = re.compile(r"\b(?:url_)?prefix\s*=\s*[rbuf]?(['\"])([^'\"\n]*)\1")
_PY_METHODS = re.compile(r"\bmethods\s*=\s*[\[\(\{]([^\]\)\}]*)[\]\)\}]")
_FLASK_PARAM = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
_EXPRESS_PARAM = re.compile(r":(\w+)(\([^)]*\))?\??|\*(\w*)")


@dataclass(frozen=True)
class Route:
    """One route the source declares: its method, its path with {name} or {name:kind} parameters, and where it is."""

    method: str
    path: str
    file: str
    line: int

    @property
    def has_params(self) -> bool:
        return bool(_PARAM.search(self.path))

    def filled(self, value: str = GUESSED) -> str:
        """The path with each parameter given `value` (a uuid-typed one a fixed uuid, when `value` is the guess)."""

        def one(match: re.Match[str]) -> str:
            return GUESSED_UUID if value == GUESSED and match.group(2) == "uuid" else value

        return _PARAM.sub(one, self.path)


def read_routes(tree: Mapping[str, bytes]) -> list[Route]:
    """Every route the app's Express, Flask or FastAPI source writes out, in file and line order, each once."""
    sources = {path: text for path, text in _sources(tree)}
    js = {path: text for path, text in sources.items() if path.endswith(JS_SUFFIXES)}
    py = {path: text for path, text in sources.items() if path.endswith(".py")}
    found = {(r.method, r.path): r for r in [*_express_routes(js), *_python_routes(py)] if _PLAIN_PATH.fullmatch(r.path)}
    return sorted(found.values(), key=lambda r: (r.file, r.line, r.method))


def _sources(tree: Mapping[str, bytes]) -> Iterator[tuple[str, str]]:
    for path, data in sorted(tree.items()):
        if len(data) > MAX_SOURCE or not path.endswith((*JS_SUFFIXES, ".py")):
            continue
        if any(part in SKIPPED_DIRS or part in ("build", "site-packages") for part in path.split("/")[:-1]):
            continue
        yield path, data.decode("utf-8", "replace")


def line_at(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _joined(prefix: str, path: str) -> str:
    joined = "/" + "/".join(part for part in f"{prefix}/{path}".split("/") if part)
    return joined + "/" if path.endswith("/") and path.strip("/") else joined


# -- Express ------------------------------------------------------------------------------------------------------------


def _express_routes(js: Mapping[str, str]) -> Iterator[Route]:
    mounts = _express_mounts(js)
    for path, text in js.items():
        apps = set(_EXPRESS_APP.findall(text))
        routers = set(_EXPRESS_ROUTER.findall(text))
        exported = {name for pair in _JS_EXPORT_DEFAULT.findall(text) for name in pair if name}
        for match in _JS_ROUTE.finditer(text):
            receiver, method, route = match.group(1), match.group(2).upper(), match.group(4)
            if receiver in apps:
                prefixes = [""]
            elif receiver in routers:
                found = mounts.get((path, receiver), [])
                if receiver in exported:
                    found = [*found, *mounts.get((path, ""), [])]
                prefixes = found or [""]
            else:
                continue
            for prefix in prefixes:
                yield Route(method, _joined(prefix, _express_path(route)), path, line_at(text, match.start()))


def _express_path(route: str) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return _param(match.group(3) or "rest", "path")
        return _param(match.group(1), "int" if match.group(2) and "\\d" in match.group(2) else "")

    return _EXPRESS_PARAM.sub(one, route)


def _express_mounts(js: Mapping[str, str]) -> dict[tuple[str, str], list[str]]:
    """Where each router is mounted: (its file, its name there, or "" for the file's default export) -> prefixes."""
    mounts: dict[tuple[str, str], list[str]] = {}
    for path, text in js.items():
        imported = {m.group(1): m.group(3) for m in (*_JS_IMPORT.finditer(text), *_JS_REQUIRE.finditer(text))}
        for match in _JS_MOUNT.finditer(text):
            prefix, required, name = match.group(3), match.group(5), match.group(6)
            if required is not None:
                key = (_resolved(path, required, js), "")
            elif name in imported:
                key = (_resolved(path, imported[name], js), "")
            else:
                key = (path, name)
            mounts.setdefault(key, []).append(prefix)
    return mounts


def _resolved(importer: str, spec: str, js: Mapping[str, str]) -> str:
    if not spec.startswith("."):
        return ""
    base = posixpath.normpath(posixpath.join(posixpath.dirname(importer), spec))
    candidates = [base, *(base + suffix for suffix in JS_SUFFIXES), *(f"{base}/index{suffix}" for suffix in JS_SUFFIXES)]
    return next((candidate for candidate in candidates if candidate in js), "")


# -- Flask and FastAPI --------------------------------------------------------------------------------------------------


def _python_routes(py: Mapping[str, str]) -> Iterator[Route]:
    groups = _python_groups(py)
    apps = {name for text in py.values() for name in _PY_APP.findall(text)}
    for path, text in py.items():
        for match in _PY_ROUTE.finditer(text):
            receiver, verb, route, rest = match.group(1), match.group(2), match.group(4), match.group(5)
            if receiver in groups:
                prefixes = groups[receiver]
            elif receiver in apps:
                prefixes = [""]
            else:
                continue
            if verb in ("route", "api_route"):
                listed = _PY_METHODS.search(rest)
                methods = re.findall(r"\w+", listed.group(1).upper()) if listed else ["GET"]
            else:
                methods = [verb.upper()]
            line = line_at(text, match.start())
            for method in methods:
                if method in METHODS:
                    for prefix in prefixes:
                        yield Route(method, _joined(prefix, _FLASK_PARAM.sub(_flask_param, route)), path, line)


def _flask_param(match: re.Match[str]) -> str:
    converter, name = match.group(1), match.group(2)
    return _param(name, converter or "")


def _param(name: str, kind: str) -> str:
    return "{" + name + (f":{kind}" if kind else "") + "}"


def _python_groups(py: Mapping[str, str]) -> dict[str, list[str]]:
    """Each blueprint's or APIRouter's prefixes: its own, joined to where it is registered (by the same name)."""
    own = {m.group(1): _prefix(m.group(2)) for text in py.values() for m in _PY_GROUP.finditer(text)}
    groups: dict[str, list[str]] = {}
    for text in py.values():
        for match in _PY_MOUNT.finditer(text):
            call, name, outer = match.group(1), match.group(2), _prefix(match.group(3) or "")
            if name in own:
                # Flask's register_blueprint(url_prefix=) replaces the blueprint's own; FastAPI's include_router adds.
                inner = own[name]
                prefix = (outer or inner) if call == "register_blueprint" else _joined(outer, inner)
                groups.setdefault(name, []).append(prefix)
    return {name: groups.get(name, [prefix]) for name, prefix in own.items()}


def _prefix(arguments: str) -> str:
    found = _PY_PREFIX.search(arguments)
    return found.group(2) if found else ""
