"""The llm system's parts on their own: edit parsing and tolerant applying, retrieval, and the HTTP client against
a real scripted chat-completions server on 127.0.0.1."""

from __future__ import annotations

import threading

import pytest

from resq_runner.errors import AuthError, ResqError
from resq_runner.systems.llm import LlmSystem
from resq_runner.systems.llm.client import Budget, BudgetExceeded, ChatClient, ClientSettings, LlmError, ModelPrice
from resq_runner.systems.llm.checks import gate
from resq_runner.systems.llm.client import Redactor
from resq_runner.systems.llm.edits import ApplyError, Edit, apply_edit, apply_edits, parse_edits, truncation
from resq_runner.systems.llm.retrieval import (build_context, chunk_file, definitions, estimate_tokens, file_kind,
                                               grep, rank, rank_chunks, render_file, repo_map)

from llm_server import ScriptedLLM

SOURCE = "class Money:\n    def split(self, n):\n        parts = []\n        for i in range(n):\n" \
         "            parts.append(self.amount / n)\n        return parts\n"


# --- edits ---------------------------------------------------------------------------------------------------

def test_search_replace_block_applies_exactly():
    reply = ("Fix:\n```\nmoney.py\n<<<<<<< SEARCH\n            parts.append(self.amount / n)\n=======\n"
             "            parts.append(self.amount // n)\n>>>>>>> REPLACE\n```\n")
    edits = parse_edits(reply)
    assert [(e.path, e.search.strip(), e.replace.strip()) for e in edits] == [
        ("money.py", "parts.append(self.amount / n)", "parts.append(self.amount // n)")]
    assert apply_edits(edits, lambda _p: SOURCE)[0]["money.py"] == SOURCE.replace("/ n", "// n")


def test_indentation_drift_is_matched_and_the_replacement_reindented():
    edit = Edit("money.py", "for i in range(n):\n    parts.append(self.amount / n)\n",
                "for i in range(n):\n    if i:\n        parts.append(self.amount / n)\n")
    result = apply_edit(SOURCE, edit)
    assert "        for i in range(n):\n            if i:\n                parts.append(self.amount / n)\n" in result
    assert result.endswith("        return parts\n")


def test_trailing_whitespace_drift_is_matched():
    edit = Edit("money.py", "        return parts   \n", "        return list(parts)\n")
    assert apply_edit(SOURCE, edit).endswith("        return list(parts)\n")


def test_missing_and_ambiguous_search_text_are_errors_the_model_can_act_on():
    with pytest.raises(ApplyError, match="not found.*closest text \\(line 5\\)"):
        apply_edit(SOURCE, Edit("money.py", "parts.append(self.amount / m)\n", "x\n"))
    with pytest.raises(ApplyError, match="occurs 2 times"):
        apply_edit("a = 1\nb = 2\na = 1\n", Edit("f.py", "a = 1\n", "a = 3\n"))


def test_edits_that_match_apply_and_the_others_are_reported():
    good = Edit("money.py", "return parts", "return tuple(parts)")
    bad = Edit("money.py", "no such line", "x")
    contents, results = apply_edits([good, bad], lambda _p: SOURCE)
    assert contents["money.py"] == SOURCE.replace("return parts", "return tuple(parts)")
    assert [(r.number, r.ok) for r in results] == [(1, True), (2, False)]
    assert "not found" in results[1].error


def test_repairs_before_matching():
    numbered = Edit("money.py", "    5|             parts.append(self.amount / n)\n",
                    "    5|             parts.append(self.amount // n)\n")
    notes: list[str] = []
    assert apply_edit(SOURCE, numbered, notes) == SOURCE.replace("/ n", "// n") and notes == ["line numbers stripped"]
    tabs = Edit("money.py", "\t\treturn parts\n", "\t\tif parts:\n\t\t\treturn parts\n\t\treturn []\n")
    assert apply_edit(SOURCE, tabs).endswith("        if parts:\n            return parts\n        return []\n")
    notes = []
    resent = Edit("money.py", "        return list(parts)\n", "        return parts\n")
    assert apply_edit(SOURCE, resent, notes) == SOURCE and notes == ["already present"]
    dict_body = "N = {\n    1: 'one',\n    2: 'two',\n}\n"  # `1: ` is code, not a line number
    edit = Edit("n.py", "    2: 'two',\n", "    2: 'deux',\n")
    assert apply_edit(dict_body, edit) == dict_body.replace("two", "deux")


def test_truncation_names_unclosed_fences_and_blocks():
    assert truncation("a.py\n```\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n```\n") == ""
    assert truncation("```diff\n--- a/a.py\n+++ b/a.py\n@@ @@\n-x\n") == "a ``` fence is not closed"
    assert truncation("a.py\n```\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n") == ""  # nothing lost
    assert truncation("a.py\n<<<<<<< SEARCH\nx\n=======\ny\n") == "a SEARCH/REPLACE block is not closed"


def test_syntax_gate_python_and_javascript():
    parsers: dict = {}
    assert gate("a.py", "x = 1\n", "x = (1\n", parsers).startswith("a.py:1: SyntaxError")
    assert "TabError" in gate("a.py", "", "if x:\n        a = 1\n\tb = 2\n", parsers)
    assert gate("a.py", "print 'py2'\n", "print 'still py2'\n", parsers) == ""  # did not parse before either
    assert gate("a.js", "const a = 1;\n", "const a = (1;\n", parsers).startswith("a.js:1:")
    assert gate("a.js", "", "export const a = () => 1;\n", parsers) == ""
    assert gate("README.md", "", "(((", parsers) == "" and gate("a.py", "x\n", None, parsers) == ""


def test_unified_diff_ignores_line_numbers_and_prose_around_the_fence():
    reply = ("Here is the diff:\n```diff\n--- a/money.py\n+++ b/money.py\n@@ -99,3 +99,3 @@\n"
             "         for i in range(n):\n-            parts.append(self.amount / n)\n"
             "+            parts.append(self.amount // n)\n```\nThis divides with floor.\n")
    edits = parse_edits(reply)
    assert len(edits) == 1
    assert apply_edits(edits, lambda _p: SOURCE)[0]["money.py"] == SOURCE.replace("/ n", "// n")


def test_unified_diff_creates_and_deletes_files():
    reply = ("```diff\n--- /dev/null\n+++ b/pkg/new.py\n@@ -0,0 +1,2 @@\n+X = 1\n+Y = 2\n"
             "--- a/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-gone\n```\n")
    contents, _results = apply_edits(parse_edits(reply), lambda p: "gone\n" if p == "old.py" else None)
    assert contents == {"pkg/new.py": "X = 1\nY = 2\n", "old.py": None}


# --- retrieval -----------------------------------------------------------------------------------------------

FILES = {
    "shop/cart.py": "class Cart:\n    def add_item(self, sku, qty):\n        pass\n\n    def total(self):\n"
                    "        return 0\n\ndef checkout(cart):\n    return cart.total()\n",
    "shop/web.js": "export function renderCart(cart) {\n  return `<ul>${cart}</ul>`;\n}\n"
                   "const formatPrice = (cents) => (cents / 100).toFixed(2);\n"
                   "class Basket {\n  clear() { this.items = []; }\n}\n",
    "README.md": "A shop.\n",
}


def test_repo_map_lists_python_and_javascript_definitions_with_lines():
    parsers: dict = {}
    assert [(line, sig) for line, _d, sig in definitions("shop/cart.py", FILES["shop/cart.py"], parsers)] == [
        (1, "class Cart:"), (2, "def add_item(self, sku, qty):"), (5, "def total(self):"),
        (8, "def checkout(cart):")]
    js = [(line, sig) for line, _d, sig in definitions("shop/web.js", FILES["shop/web.js"], parsers)]
    assert (1, "function renderCart(cart)") in js
    assert any(line == 4 and sig.startswith("formatPrice") for line, sig in js)
    assert (5, "class Basket") in js and (6, "clear() { this.items = []; }") in js
    assert repo_map(FILES).splitlines()[0] == "README.md"  # without a ranking: alphabetical


def test_files_are_sorted_into_kinds():
    kinds = {path: file_kind(path) for path in [
        "pkg/core.py", "pkg/core.pyi", "src/lib/index.js", "tests/test_core.py", "pkg/tests/helpers.py",
        "lib/util.test.js", "conftest.py", "docs/index.rst", "README.md", "docs/conf.py", "CHANGELOG.rst",
        "PKG-INFO", "setup.py", "pyproject.toml", "LICENSE"]}
    assert [p for p, k in kinds.items() if k == "source"] == ["pkg/core.py", "pkg/core.pyi", "src/lib/index.js"]
    assert [p for p, k in kinds.items() if k == "test"] == [
        "tests/test_core.py", "pkg/tests/helpers.py", "lib/util.test.js", "conftest.py"]
    assert [p for p, k in kinds.items() if k == "doc"] == ["docs/index.rst", "README.md", "docs/conf.py"]


def test_chunks_follow_functions_and_classes():
    long_class = "class Big:\n" + "".join(f"    def m{i}(self):\n" + "        x = 1\n" * 20 + "\n" for i in range(5))
    text = "import os\n\n\ndef small():\n    return 1\n\n\n" + "def other():\n" + "    y = 2\n" * 15 + long_class
    chunks = chunk_file("m.py", text, {})
    starts = [c.start for c in chunks]
    assert starts[:2] == [1, 8]  # imports with the small function, then `other`
    big = text.splitlines().index("class Big:") + 1
    assert big in starts and all(c.end - c.start < 80 for c in chunks)  # the long class split per method
    assert sum(len(c.lines) for c in chunks) == len(text.splitlines())  # every line in exactly one chunk


def test_ranking_prefers_source_and_the_map_follows_relevance():
    files = {"README.md": "cart total cart total cart total\n", "CHANGELOG.md": "cart total fixed\n", **FILES}
    ranking = rank("Cart.total is wrong", files)
    assert ranking.files[0] == "shop/cart.py"
    context = build_context("Cart.total is wrong", files, 2000)
    assert context.text.index("shop/cart.py") < context.text.index("README.md")
    assert "|" not in context.text.split("```")[1]  # code without line-number prefixes
    assert "Task id" not in context.text


def test_open_ranges_cut_long_files_with_a_way_on():
    text = "".join(f"line_{i} = {i}\n" for i in range(1, 501))
    rendered, shown = render_file("big.py", text, 200, 10, 20)
    assert (shown.start, shown.end) == (10, 20) and "line_10 = 10\n" in rendered and "line_21" not in rendered
    rendered, shown = render_file("big.py", text, 200)
    assert shown.start == 1 and shown.end < 500 and f"OPEN big.py:{shown.end + 1}-500" in rendered
    long_module = "".join(f"def f{i}(x):\n" + "    x += 1\n" * 30 + "    return x\n\n" for i in range(20))
    rendered, shown = render_file("mod.py", long_module, 1000)
    assert rendered.startswith("mod.py is long; its outline") and "  34: def f1(x):" in rendered
    assert shown.end < len(long_module.splitlines()) and estimate_tokens(rendered) <= 1100


def test_grep_finds_lines_source_first():
    text, shown = grep(r"def (total|checkout)", FILES, {p: file_kind(p) for p in FILES})
    assert "shop/cart.py:5: def total(self):" in text and [s.start for s in shown] == [5, 8]
    assert grep("(unclosed", {"a.py": "x = f(unclosed\n"}, {})[0].endswith("a.py:1: x = f(unclosed")


def test_redaction_touches_only_string_values():
    redact = Redactor("sk-secret-key-123")
    data = {"x": "token sk-secret-key-123 here", "sk-secret-key-123": 1, "n": [2, "sk-secret-key-123"]}
    assert redact.values(data) == {"x": "token [redacted] here", "sk-secret-key-123": 1, "n": [2, "[redacted]"]}


def test_bm25_ranks_the_file_the_instruction_is_about_first():
    ranked = rank_chunks("formatPrice shows cents wrong in renderCart", FILES)
    assert ranked[0][1].path == "shop/web.js"


def test_context_stays_within_its_budget_and_records_what_was_shown():
    big = {f"mod{i}.py": "\n".join(f"def handler_{i}_{j}(): return {j}" for j in range(200)) for i in range(5)}
    big["target.py"] = "def refund_invoice(invoice):\n    return invoice.refund()\n"
    context = build_context("refund_invoice is broken", big, budget_tokens=1500)
    assert context.tokens <= 1500
    assert context.shown[0].path == "target.py" or "target.py" in {s.path for s in context.shown}
    assert all(s.reason == "bm25" for s in context.shown)


# --- client against a real server ----------------------------------------------------------------------------

KEY = "sk-unit-SECRET-0001"


def _client(server, **overrides) -> ChatClient:
    settings = dict(base_url=server.base_url, model="scripted", api_key=KEY, timeout_s=2, max_retries=2,
                    backoff_s=0.05, price=ModelPrice(prompt=2.0, completion=8.0))
    settings.update(overrides)
    return ChatClient(ClientSettings(**settings), threading.Semaphore(2))


def _ask(client, task="t1", budgets=()):
    return client.complete([{"role": "user", "content": f"Task id: {task}"}], list(budgets))


def test_usage_and_cost_come_from_the_servers_usage_fields():
    with ScriptedLLM({"t1": [{"content": "hi", "usage": {"prompt_tokens": 1000, "completion_tokens": 250}}]},
                     api_key=KEY) as server:
        completion = _ask(_client(server))
    assert (completion.content, completion.prompt_tokens, completion.completion_tokens) == ("hi", 1000, 250)
    assert completion.cost_usd == pytest.approx((1000 * 2.0 + 250 * 8.0) / 1e6)
    assert server.requests[0]["authorization"] == f"Bearer {KEY}"


def test_429_is_retried_after_the_servers_retry_after():
    script = [{"status": 429, "retry_after": "0"}, {"status": 503}, {"content": "ok", "usage": {}}]
    with ScriptedLLM({"t1": script}) as server:
        completion = _ask(_client(server, backoff_s=0.05))
    assert completion.content == "ok"
    assert [a.split()[2:4] for a in completion.attempts] == [["HTTP", "429"], ["HTTP", "503"]]
    assert completion.attempts[0].endswith("retrying in 0s (Retry-After)")
    assert completion.attempts[1].endswith("retrying in 0.1s")  # no Retry-After: the doubling backoff


def test_a_hung_request_times_out_and_fails_after_the_retries():
    with ScriptedLLM({"t1": [{"hang": 30}]}) as server:
        with pytest.raises(LlmError, match="after 2 attempt\\(s\\).*no answer within 1s") as caught:
            _ask(_client(server, timeout_s=1, max_retries=1))
    assert len(server.requests) == 2
    assert [a.split(":")[0] for a in caught.value.attempts] == ["attempt 1", "attempt 2"]  # for the transcript


def test_finish_reason_is_read():
    with ScriptedLLM({"t1": [{"content": "half a rep", "finish_reason": "length"}]}) as server:
        assert _ask(_client(server)).finish_reason == "length"


def test_an_error_answer_never_carries_the_key():
    with ScriptedLLM({"t1": [{"content": "x"}]}, api_key="another-key") as server:
        with pytest.raises(AuthError, match="refused the API key \\(HTTP 401") as caught:  # stops the run
            _ask(_client(server))
    assert KEY not in str(caught.value)
    assert len(server.requests) == 1  # a refused key is not retried


def test_budget_stops_the_next_call_once_spent():
    budget = Budget(0.001, "per-task")
    with ScriptedLLM({"t1": [{"content": "x", "usage": {"prompt_tokens": 1000, "completion_tokens": 0}}]}) as server:
        client = _client(server)
        _ask(client, budgets=[budget])
        with pytest.raises(BudgetExceeded, match="per-task budget of \\$0.001 reached"):
            _ask(client, budgets=[budget])
    assert len(server.requests) == 1


def test_llm_system_configuration_errors_are_one_clear_line(monkeypatch, tmp_path):
    monkeypatch.delenv("RESQ_TEST_NO_SUCH_KEY", raising=False)
    with pytest.raises(ResqError, match="RESQ_TEST_NO_SUCH_KEY is empty or not set"):
        LlmSystem(model="m", base_url="http://127.0.0.1:1/v1", api_key_env="RESQ_TEST_NO_SUCH_KEY")
    with pytest.raises(ResqError, match="needs --model"):
        LlmSystem(base_url="http://127.0.0.1:1/v1", api_key_env="")
    prices = tmp_path / "prices.yaml"
    prices.write_text("other-model: {prompt: 1, completion: 2}\n")
    with pytest.raises(ResqError, match="no price for model 'm'"):
        LlmSystem(model="m", base_url="http://x/v1", api_key_env="", price_table=str(prices))
    with pytest.raises(ResqError, match="needs prices"):
        LlmSystem(model="m", base_url="http://x/v1", api_key_env="", budget_usd_per_task="1")
    monkeypatch.setenv("RESQ_TEST_SHORT_KEY", "x")
    with pytest.raises(ResqError, match="RESQ_TEST_SHORT_KEY has 1 character\\(s\\): a secret shorter than 8"):
        LlmSystem(model="m", base_url="http://127.0.0.1:1/v1", api_key_env="RESQ_TEST_SHORT_KEY")


@pytest.mark.parametrize("limit", [1, 3])
def test_the_run_wide_gate_bounds_requests_in_flight(limit):
    gate = threading.Semaphore(limit)
    script = {f"t{i}": [{"content": "ok", "usage": {}, "delay": 0.4}] for i in range(3)}
    with ScriptedLLM(script) as server:
        clients = [ChatClient(ClientSettings(base_url=server.base_url, model="m", timeout_s=10), gate)
                   for _ in range(3)]
        start = threading.Barrier(3)

        def ask(index: int) -> None:
            start.wait()
            _ask(clients[index], task=f"t{index}")

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(server.requests) == 3
    assert server.max_in_flight == limit


def test_search_replace_paths_in_the_forms_models_write():
    block = "<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n"
    reply = (f"**pkg/one.py**\n```python\n{block}```\nFile: pkg/two.py\n{block}"
             f"Then again in the same file:\n{block}")
    assert [e.path for e in parse_edits(reply)] == ["pkg/one.py", "pkg/two.py", "pkg/two.py"]
    with pytest.raises(ApplyError, match="no file path"):
        parse_edits(f"Change this:\n{block}")
    with pytest.raises(ApplyError, match="not closed"):
        parse_edits("a.py\n<<<<<<< SEARCH\nx\n=======\ny\n")
