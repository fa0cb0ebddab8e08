"""Generation streaming benchmark: prints figures, asserts nothing.

Streams a 40-file (about 150 KB) tree at each rate from the local protocol server
(tests/llm_server.py) through the real anthropic SDK, twice:
  raw       the SDK's event stream consumed and thrown away (the floor);
  pipeline  Forja running as in production, the generation started from the home page in
            Chromium, until the last file's name shows in the Code tab's tree.
Reports the pipeline's overhead against raw, the delay from each file's last token leaving
the server to its name appearing in the browser (p50/p95), and websocket bytes the browser
received per byte of file content.

    .venv/bin/python bench/generation_stream.py [--rates 100,1000] [--files 40] [--kb 150]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anthropic
import httpx
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from builder.generation.stream_parser import FileTreeStreamParser, ItemDone  # noqa: E402
from tests.e2e.conftest import CHROMIUM_ARGS, free_port, stop  # noqa: E402
from tests.llm_server import CHARS_PER_TOKEN, ScriptedLLMServer, ToolAnswer, split_text  # noqa: E402

CHUNK_CHARS = 16  # about four tokens per delta, as Claude streams tool input
FAKE_KEY = "sk-ant-bench-0000000000000000"


def make_tree(files: int, kilobytes: int) -> dict:
    per_file = kilobytes * 1024 // files
    line = "export const value = compute({ label: 'Forja', items: [1, 2, 3] }); // keep going\n"
    tree = [
        {"path": f"src/components/Part{i:02}.jsx", "content": (line * (per_file // len(line) + 1))[:per_file]}
        for i in range(files)
    ]
    return {"title": "Benchmark app", "summary": "A large tree for measuring streaming.", "stack": ["react"], "files": tree}


def file_end_offsets(text: str) -> dict[str, int]:
    """Characters of the tool input generated when each file's object is complete."""
    parser = FileTreeStreamParser()
    offsets: dict[str, int] = {}
    done = 0
    for piece in split_text(text, CHUNK_CHARS):
        done += len(piece)
        for event in parser.feed(piece):
            if isinstance(event, ItemDone) and event.array == "files":
                offsets[event.value["path"]] = done
    return offsets


def sent_at(server: ScriptedLLMServer, start_index: int, chars: int) -> float:
    return next(t for t, generated in server.sent[start_index:] if generated >= chars)


async def raw_stream(server: ScriptedLLMServer, answer: ToolAnswer) -> float:
    server.queue(answer)
    client = anthropic.AsyncAnthropic(api_key=FAKE_KEY, base_url=server.anthropic_base_url, max_retries=0)
    first = None
    async with await client.messages.create(
        model="claude-sonnet-5-5", max_tokens=64000, messages=[{"role": "user", "content": "bench"}], stream=True
    ) as events:
        async for _event in events:
            first = first or time.time()
    return time.time() - (first or time.time())


def pipeline(server: ScriptedLLMServer, answer: ToolAnswer, offsets: dict[str, int], payload_bytes: int) -> dict:
    port = free_port()
    data = tempfile.mkdtemp(prefix="forja-bench-")
    env = {
        **os.environ,
        "FORJA_PORT": str(port),
        "FORJA_DATA_DIR": data,
        "ANTHROPIC_API_KEY": FAKE_KEY,
        "ANTHROPIC_BASE_URL": server.anthropic_base_url,
        "FORJA_MAX_OUTPUT_TOKENS": "64000",
        "REFLEX_USE_NPM": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    import subprocess

    process = subprocess.Popen(
        [sys.executable, "-m", "reflex", "run", "--env", "prod", "--single-port", "--loglevel", "warning"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200 and httpx.get(base, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(1)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 860})
            received = {"bytes": 0, "counting": False}

            def on_socket(ws) -> None:
                def count(payload: str | bytes) -> None:
                    if received["counting"]:
                        received["bytes"] += len(payload.encode() if isinstance(payload, str) else payload)

                ws.on("framereceived", count)

            page.on("websocket", on_socket)
            page.add_init_script(
                """window.__seen = {};
                new MutationObserver(() => {
                  for (const el of document.querySelectorAll('[data-path]')) {
                    const p = el.getAttribute('data-path');
                    if (!(p in window.__seen)) window.__seen[p] = Date.now();
                  }
                }).observe(document, {subtree: true, childList: true});"""
            )
            page.goto(base)
            # An example chip round-trips through the server: once its text is in the box, events flow.
            page.locator(".example-chip").first.click()
            page.wait_for_function("document.querySelector('#prompt').value.length > 0")
            page.fill("#prompt", "A big app for the benchmark")
            start_index = len(server.sent)
            server.queue(answer)
            received["counting"] = True
            page.click("#build-button")
            page.wait_for_url("**/p/*")
            page.wait_for_selector("#version-badge", timeout=3_600_000)
            received["counting"] = False
            seen = page.evaluate("window.__seen")
            browser.close()
    finally:
        stop(process)
    first_sent = server.sent[start_index][0]
    delays = sorted(seen[path] / 1000 - sent_at(server, start_index, chars) for path, chars in offsets.items() if path in seen)
    last_seen = max(seen[p] / 1000 for p in offsets if p in seen)
    return {
        "duration": last_seen - first_sent,
        "shown": len(delays),
        "p50": statistics.median(delays),
        "p95": delays[min(len(delays) - 1, int(len(delays) * 0.95))],
        "ws_per_payload_byte": received["bytes"] / payload_bytes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="100,1000", help="tokens per second, comma-separated")
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--kb", type=int, default=150)
    args = parser.parse_args()
    tree = make_tree(args.files, args.kb)
    payload_bytes = sum(len(f["content"].encode()) for f in tree["files"])
    text = json.dumps(tree, ensure_ascii=False)
    offsets = file_end_offsets(text)
    print(
        f"tree: {args.files} files, {payload_bytes / 1024:.0f} KB of content, {len(text) / CHARS_PER_TOKEN:,.0f} tokens of tool input"
    )
    with ScriptedLLMServer() as server:
        for rate in [float(r) for r in args.rates.split(",")]:
            answer = ToolAnswer(tree, chunks=CHUNK_CHARS, tokens_per_second=rate)
            raw = asyncio.run(raw_stream(server, answer))
            result = pipeline(server, answer, offsets, payload_bytes)
            overhead = (result["duration"] - raw) / raw * 100
            print(
                f"{rate:>6.0f} tok/s  raw {raw:7.2f} s  pipeline {result['duration']:7.2f} s  overhead {overhead:+5.1f}%  "
                f"file->tree p50 {result['p50'] * 1000:5.0f} ms p95 {result['p95'] * 1000:5.0f} ms  "
                f"({result['shown']}/{len(offsets)} files)  ws bytes/payload byte {result['ws_per_payload_byte']:.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
