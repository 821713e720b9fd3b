"""Model selection: provider strings, keys, offline choice. Models are built, never called."""

import pytest

from research_agent.models import build_model, resolve_model_id
from research_agent.options import InputError, resolve_options
from research_agent.providers import ModelConfigError, missing_key, offline_reason
from research_agent.settings import Settings

from ._process import make_settings


def _settings(**keys: str) -> Settings:
    return make_settings(**keys)


def test_offline_is_chosen_when_a_key_is_missing_and_the_reason_names_it():
    assert offline_reason(_settings()) == "no ANTHROPIC_API_KEY, GOOGLE_API_KEY"
    assert offline_reason(_settings(ANTHROPIC_API_KEY="a")) == "no GOOGLE_API_KEY"
    assert offline_reason(_settings(ANTHROPIC_API_KEY="a", GEMINI_API_KEY="g")) is None
    options, reason = resolve_options(_settings(ANTHROPIC_API_KEY="a"))
    assert options.offline and options.search_backend == "corpus" and reason == "no GOOGLE_API_KEY"


def test_online_options_use_builtin_search_and_carry_no_secret():
    options, reason = resolve_options(_settings(ANTHROPIC_API_KEY="sk-ant-secret", GOOGLE_API_KEY="g-secret"))
    assert not options.offline and reason is None
    assert options.search_backend == "builtin" and options.search_model == "google-gla:gemini-3.8-flash"
    assert "secret" not in options.model_dump_json()


def test_forcing_online_without_keys_names_the_variable():
    with pytest.raises(InputError, match="needs ANTHROPIC_API_KEY"):
        resolve_options(_settings(), offline=False)


def test_an_openai_compatible_server_needs_no_key():
    settings = _settings(OPENAI_BASE_URL="http://127.0.0.1:11434/v1")
    assert missing_key("openai:llama3.2", settings) is None
    assert missing_key("openai:gpt-5", _settings()) == "OPENAI_API_KEY"


@pytest.mark.parametrize(
    ("model_id", "keys", "class_name"),
    [
        ("anthropic:claude-sonnet-4-5", {"ANTHROPIC_API_KEY": "a"}, "AnthropicModel"),
        ("google-gla:gemini-2.5-flash", {"GOOGLE_API_KEY": "g"}, "GoogleModel"),
        ("openai:llama3.2", {"OPENAI_BASE_URL": "http://127.0.0.1:11434/v1"}, "OpenAIChatModel"),
    ],
)
def test_models_are_built_with_keys_from_settings(model_id: str, keys: dict[str, str], class_name: str):
    model = build_model(model_id, _settings(**keys))
    assert type(model).__name__ == class_name
    assert model.model_name == model_id.split(":", 1)[1]


def test_unknown_providers_and_missing_keys_are_clear_errors():
    with pytest.raises(ModelConfigError, match="unknown model provider 'foo'"):
        build_model("foo:bar", _settings())
    with pytest.raises(ModelConfigError, match="needs ANTHROPIC_API_KEY"):
        build_model("anthropic:claude-sonnet-4-5", _settings())


def test_the_resolver_leaves_other_ids_to_pydantic_ai():
    assert resolve_model_id(None, "test") is None
    assert resolve_model_id(None, "offline") is None


@pytest.mark.parametrize(
    ("model_id", "keys"),
    [
        ("openai:gpt-5", {"OPENAI_API_KEY": "sk-o"}),
        ("anthropic:claude-sonnet-4-5", {"ANTHROPIC_API_KEY": "a"}),
    ],
)
def test_a_model_built_per_request_loads_no_tls_context_of_its_own(
    model_id: str, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
):
    """A model is built for every request, on the event loop all runs share: loading the CA bundle each time
    cost ~50 ms of CPU a request (bench/concurrent_runs.py). The process's one context is used instead."""
    import ssl

    from research_agent.tls import shared_tls_context

    shared_tls_context()

    def refused(*args: object, **kwargs: object) -> ssl.SSLContext:
        raise AssertionError("a TLS context was built for one request")

    monkeypatch.setattr(ssl, "create_default_context", refused)
    build_model(model_id, _settings(**keys))
    build_model(model_id, _settings(**keys))


def test_a_model_is_built_once_per_settings_base_url_and_event_loop(monkeypatch: pytest.MonkeyPatch):
    """Every model request asks for its model again: the one built first is handed out again while the
    settings, the SDKs' base URLs and the event loop are the same, and a new one is built when any of them
    changes (a test's new stand-in server, a relaunched worker's new loop)."""
    import asyncio

    from research_agent import engine_settings

    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    settings = _settings(ANTHROPIC_API_KEY="a")

    async def resolve() -> object:
        return resolve_model_id(None, "anthropic:claude-sonnet-4-5")

    async def twice() -> tuple[object, object]:
        return await resolve(), await resolve()

    with engine_settings.use(settings):
        first, again = asyncio.run(twice())
        assert first is again
        assert asyncio.run(resolve()) is not first  # another event loop
        loop = asyncio.new_event_loop()
        try:
            kept = loop.run_until_complete(resolve())
            monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9/")
            moved = loop.run_until_complete(resolve())
            assert moved is not kept and str(moved.client.base_url).startswith("http://127.0.0.1:9")  # type: ignore[attr-defined]
            assert loop.run_until_complete(resolve()) is moved
        finally:
            loop.close()
    with engine_settings.use(_settings(ANTHROPIC_API_KEY="b")):
        assert asyncio.run(resolve()) is not first  # other settings (another key)
