"""Settings of generation: the models, their limits and budgets, and the checks and repairs of what they make."""

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings


class ModelSettings(BaseSettings):
    """Models and generation"""

    anthropic_api_key: str = Field(
        default="",
        validation_alias=AliasChoices("ANTHROPIC_API_KEY", "FORJA_ANTHROPIC_API_KEY"),
        repr=False,
        description="Makes Claude the default provider, and wins over a Claude connected on the admin page. Read by the "
        "server only: never sent to the browser, a model, a log or a preview.",
    )
    anthropic_base_url: str = Field(
        default="",
        validation_alias=AliasChoices("ANTHROPIC_BASE_URL", "FORJA_ANTHROPIC_BASE_URL"),
        description="Another address for the Anthropic API (a proxy, a gateway).",
    )
    anthropic_model: str = Field(default="claude-sonnet-5-5", description="Claude model used for generation.")
    openai_api_key: str = Field(
        default="",
        validation_alias=AliasChoices("OPENAI_API_KEY", "FORJA_OPENAI_API_KEY"),
        repr=False,
        description="Enables the OpenAI-compatible provider (OpenAI, OpenRouter...); with `OPENAI_BASE_URL` it wins over "
        "an OpenAI-compatible model connected on the admin page. Read by the server only, as the Anthropic key.",
    )
    openai_base_url: str = Field(
        default="",
        validation_alias=AliasChoices("OPENAI_BASE_URL", "FORJA_OPENAI_BASE_URL"),
        description="OpenAI-compatible server, e.g. `http://127.0.0.1:11434/v1` for Ollama on this machine (no key "
        "needed; set `FORJA_OPENAI_MODEL` to one of its models).",
    )
    openai_model: str = Field(default="gpt-4.1", description="Model name sent to the OpenAI-compatible server.")
    openai_vision: bool | None = Field(
        default=None,
        description="Whether the OpenAI-compatible model takes pictures (`true`/`false`). Empty means yes for OpenAI's "
        "own API (no `OPENAI_BASE_URL`, or a model connected on the admin page without an address) and no for other "
        "servers; set `true` for a local model that reads images. When "
        "no, an attached picture is kept but not sent, and the person is told so.",
    )
    attach_max_bytes: int = Field(
        default=5 * 1024 * 1024,
        description="Largest picture attached to a prompt (PNG, JPEG, GIF or WebP, recognised by its bytes), in bytes.",
    )
    attach_max_count: int = Field(default=4, description="Most pictures attached to one prompt.")
    provider: str = Field(
        default="",
        description="`anthropic`, `openai` or `offline`; empty picks Claude if its key is set, else OpenAI-compatible "
        "if set, else the default model connected on the admin page, else offline. Each project can pick its own in the "
        "workspace.",
    )
    max_output_tokens: int = Field(default=16000, description="`max_tokens` of one answer; a longer answer is continued.")
    max_segments: int = Field(default=4, description="How many parts an answer cut at the output limit may have.")
    generation_timeout_s: float = Field(
        default=1800.0,
        description="A generation running longer is stopped; a generation still marked running and older than this is "
        "from a Forja that is gone.",
    )
    request_timeout_s: float = Field(default=300.0, description="Timeout of one model request, in seconds.")
    connect_timeout_s: float = Field(default=15.0, description="Timeout to connect to the model's API, in seconds.")
    retry_attempts: int = Field(
        default=3,
        description="Tries (with doubling backoff) after 429, 529 or overload, for a request of which nothing was applied yet.",
    )
    retry_base_delay_s: float = Field(default=1.0, description="First backoff delay, in seconds; it doubles each retry.")
    followup_context_bytes: int = Field(
        default=60_000,
        description="File content sent with a follow-up or an Ask mode question; larger projects send only the files "
        "that matter.",
    )
    budget_project_usd: float = Field(
        default=0.0,
        ge=0,
        description="Most estimated model cost per project, in US dollars; `0` is no limit. A request whose largest cost "
        "(its input, and all of `FORJA_MAX_OUTPUT_TOKENS` at the model's price) would pass it is not sent, and the "
        "generation stops with a sentence naming the setting (the API answers 402 when the first request would).",
    )
    budget_daily_usd: float = Field(
        default=0.0,
        ge=0,
        description="Most estimated model cost for all projects together per UTC day, in US dollars, checked as the "
        "project budget is; `0` is no limit.",
    )

    @property
    def default_provider(self) -> str:
        """The provider used when a project has not picked one: explicit setting, else by key."""
        if self.provider:
            return self.provider
        if self.anthropic_api_key:
            return "anthropic"
        if self.openai_api_key or self.openai_base_url:
            return "openai"
        return "offline"


class CheckSettings(BaseSettings):
    """Checks and repairs of generated apps"""

    verify_generations: bool = Field(
        default=True,
        description="Run each generated version, check it in headless Chromium and repair it before the generation "
        "ends; the CLI's `--no-verify` and the API's `\"verify\": false` skip it for one generation.",
    )
    auto_fix_attempts: int = Field(
        default=2,
        ge=0,
        description="Most automatic repair rounds after a check finds problems; `0` checks and reports only.",
    )
    chromium_path: str = Field(
        default="",
        validation_alias=AliasChoices("FORJA_CHROMIUM", "FORJA_CHROMIUM_PATH"),
        description="The Chromium that checks generated apps (Debian/Ubuntu: `apt-get install chromium-headless-shell`); "
        "empty: `chromium-headless-shell` on PATH, else `chromium`, else Playwright's own. Without one, generations end "
        '"Not checked" and say why.',
    )
    verify_checks_timeout_s: float = Field(
        default=60,
        description="Time for all of a generated project's own checks together (its package.json `build`, `lint`, "
        "type-check and `test` scripts, pytest, Django's check), run in its running preview; a check that would start "
        "with no time left is skipped.",
    )
    acceptance_check_timeout_s: float = Field(
        default=20,
        gt=0,
        description="Time for each acceptance check (a test in the project's `.forja/checks/`), run in headless "
        "Chromium after each version starts; each of its steps waits at most 5 s (opening a page, 15 s).",
    )
    agent_max_steps: int = Field(
        default=30,
        ge=1,
        description="Most steps (tool calls: read, edit, run a command, open a page...) of one agent-mode run; a run "
        "that reaches it ends without saving, its steps listed in the conversation.",
    )
    agent_command_timeout_s: float = Field(
        default=120,
        gt=0,
        description="Time for each command an agent-mode run runs in the app's sandbox (an install, the tests); one "
        "still running then is stopped and its output so far goes back to the model.",
    )
    fetch_allowed_hosts: str = Field(
        default="",
        description="Hosts (comma-separated; `host` for any port or `host:port`) whose pages agent-mode runs may read "
        "(their `fetch_url` tool), at any address, a private one too (an intranet's documentation). Empty: any host "
        "whose every address is public; loopback, private, link-local and other addresses that are not are refused.",
    )
    fetch_max_bytes: int = Field(
        default=2_000_000,
        ge=1_000,
        description="Most bytes read from the network for one page an agent-mode run reads; the rest is not read, and "
        "the model is told the page was cut.",
    )
    fetch_timeout_s: float = Field(
        default=15,
        gt=0,
        description="Time for one page an agent-mode run reads, redirects included.",
    )
    mcp_private_hosts: str = Field(
        default="",
        description="Hosts (comma-separated; `host` for any port or `host:port`) of teams' MCP servers that may be at a "
        "private address (an intranet's server). Any other MCP server's host must have only public addresses.",
    )
    mcp_call_timeout_s: float = Field(
        default=30,
        gt=0,
        description="Time for each call of a team's MCP server tool by an agent-mode run (and for listing a server's "
        "tools), connecting included; a call still going then is told to the model as failed.",
    )
    mcp_start_timeout_s: float = Field(
        default=120,
        gt=0,
        description="Time for a team's MCP server started by its command to answer once started, its install by npx "
        "or uvx included (it starts in a new sandbox for each agent-mode run, and for each listing of its tools).",
    )
    mcp_result_chars: int = Field(
        default=20_000,
        ge=1_000,
        description="Most characters of an MCP tool's answer that go back to the model; the rest is cut, and the "
        "model is told so.",
    )

    @property
    def mcp_hosts(self) -> frozenset[str]:
        """The entries of FORJA_MCP_PRIVATE_HOSTS, lower-case, without a name's final dot."""
        return frozenset(entry.strip().lower().rstrip(".") for entry in self.mcp_private_hosts.split(",") if entry.strip())

    @property
    def fetch_hosts(self) -> frozenset[str]:
        """The entries of FORJA_FETCH_ALLOWED_HOSTS, lower-case, without a name's final dot."""
        return frozenset(entry.strip().lower().rstrip(".") for entry in self.fetch_allowed_hosts.split(",") if entry.strip())
