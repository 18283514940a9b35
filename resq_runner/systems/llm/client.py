"""An OpenAI-compatible chat-completions client over plain HTTP, with the run-wide limits around it.

The API key lives only in the Authorization header: every text this module hands out (errors, attempt notes) goes
through `Redactor` first. 429 and 5xx answers and timeouts are retried with backoff, honouring Retry-After; a
run-wide semaphore bounds the requests in flight; `Budget` stops a task or a run once its dollars are spent.
"""

from __future__ import annotations

import email.utils
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, RootModel, ValidationError

from ...errors import AuthError, ResqError


class LlmError(Exception):
    """The endpoint could not give an answer (after retries); the task's outcome is system_error. `attempts` holds
    one line per failed attempt, as `Completion.attempts` does for calls that got an answer."""

    def __init__(self, message: str, attempts: list[str] | None = None):
        super().__init__(message)
        self.attempts = list(attempts or [])


class BudgetExceeded(LlmError):
    """A per-task or per-run dollar cap was reached before the next call."""


class Redactor:
    """Replaces the secret wherever it could appear in text that is logged or written; in structured data only
    inside string values (keys and numbers are never touched)."""

    def __init__(self, secret: str):
        self.secret = secret

    def __call__(self, text: str) -> str:
        return text.replace(self.secret, "[redacted]") if self.secret else text

    def values(self, data):
        if isinstance(data, str):
            return self(data)
        if isinstance(data, list):
            return [self.values(item) for item in data]
        if isinstance(data, dict):
            return {key: self.values(value) for key, value in data.items()}
        return data


class ModelPrice(BaseModel):
    """US dollars per million tokens."""

    prompt: float
    completion: float


class PriceTable(RootModel[dict[str, ModelPrice]]):
    """A JSON or YAML file mapping model names to prices, e.g. {"gpt-4o-mini": {"prompt": 0.15, "completion": 0.6}}."""

    @classmethod
    def load(cls, file: str) -> "PriceTable":
        import yaml

        try:
            return cls.model_validate(yaml.safe_load(Path(file).read_text()) or {})
        except OSError as exc:
            raise ResqError(f"{file}: cannot read the price table ({exc.strerror}); pass --price-table FILE") from None
        except (yaml.YAMLError, ValidationError) as exc:
            detail = " ".join(str(exc).split())[:160]
            raise ResqError(f"{file}: not a price table ({detail}); write {{model: {{prompt: USD/Mtok, "
                            "completion: USD/Mtok}}}}") from None

    def price(self, model: str, file: str) -> ModelPrice:
        if model not in self.root:
            raise ResqError(f"{file}: no price for model '{model}' (has: {', '.join(sorted(self.root)) or 'none'}); "
                            "add it or drop --price-table")
        return self.root[model]


class Budget:
    """Dollars that calls may spend; shared by threads when it is the run's."""

    def __init__(self, limit_usd: float | None, scope: str):
        self.limit_usd, self.scope = limit_usd, scope
        self.spent_usd = 0.0
        self._lock = threading.Lock()

    def check(self) -> None:
        with self._lock:
            if self.limit_usd is not None and self.spent_usd >= self.limit_usd:
                raise BudgetExceeded(f"{self.scope} budget of ${self.limit_usd:g} reached "
                                     f"(${self.spent_usd:.4f} spent)")

    def charge(self, usd: float) -> None:
        with self._lock:
            self.spent_usd += usd


@dataclass
class Completion:
    content: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    seconds: float
    attempts: list[str] = field(default_factory=list)
    finish_reason: str = ""  # as the server said: stop, length, ...


@dataclass
class ClientSettings:
    base_url: str
    model: str
    api_key: str = ""
    timeout_s: float = 120.0
    max_retries: int = 4
    backoff_s: float = 1.0
    temperature: float = 0.0
    price: ModelPrice | None = None


class ChatClient:
    def __init__(self, settings: ClientSettings, gate: threading.Semaphore):
        import httpx

        self.settings, self.gate = settings, gate
        self.redact = Redactor(settings.api_key)
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        self._http = httpx.Client(base_url=settings.base_url.rstrip("/") + "/", headers=headers,
                                  timeout=settings.timeout_s)

    def close(self) -> None:
        self._http.close()

    def complete(self, messages: list[dict], budgets: list[Budget]) -> Completion:
        import httpx

        body = {"model": self.settings.model, "messages": messages, "temperature": self.settings.temperature}
        attempts: list[str] = []
        asked: float | None = None
        for attempt in range(self.settings.max_retries + 1):
            for budget in budgets:
                budget.check()
            started, asked = time.perf_counter(), None
            try:
                with self.gate:
                    response = self._http.post("chat/completions", json=body)
            except httpx.TimeoutException:
                attempts.append(f"attempt {attempt + 1}: no answer within {self.settings.timeout_s:g}s")
                wait = self._backoff(attempt)
            except httpx.HTTPError as exc:
                attempts.append(self.redact(f"attempt {attempt + 1}: {type(exc).__name__}: {exc}"))
                wait = self._backoff(attempt)
            else:
                if response.status_code == 200:
                    completion = self._parse(response, time.perf_counter() - started, attempts)
                    for budget in budgets:
                        budget.charge(completion.cost_usd)
                    return completion
                detail = self.redact(" ".join(response.text.split())[:120])
                attempts.append(f"attempt {attempt + 1}: HTTP {response.status_code} {detail}")
                if response.status_code in (401, 403):  # every later call and task would be refused too
                    raise AuthError(f"{self.settings.base_url} refused the API key (HTTP {response.status_code}: "
                                    f"{detail})")
                if response.status_code != 429 and response.status_code < 500:
                    raise LlmError(f"{self.settings.base_url} answered HTTP {response.status_code}: {detail}",
                                   attempts)
                asked = retry_after(response.headers.get("retry-after"))
                wait = self._backoff(attempt) if asked is None else asked
            if attempt < self.settings.max_retries:
                attempts[-1] += f"; retrying in {wait:g}s" + (" (Retry-After)" if asked is not None else "")
                time.sleep(wait)
        raise LlmError(f"no answer from {self.settings.base_url} after {len(attempts)} attempt(s): {attempts[-1]}",
                       attempts)

    def _backoff(self, attempt: int) -> float:
        return min(self.settings.backoff_s * 2 ** attempt, 60.0)

    def _parse(self, response, seconds: float, attempts: list[str]) -> Completion:
        try:
            data = response.json()
            content = data["choices"][0]["message"]["content"] or ""
            finish_reason = str(data["choices"][0].get("finish_reason") or "")
        except (ValueError, KeyError, IndexError, TypeError):
            raise LlmError(f"{self.settings.base_url} answered 200 without choices[0].message.content: "
                           f"{self.redact(response.text[:200])}") from None
        usage = data.get("usage") or {}
        prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        price = self.settings.price
        cost = (prompt * price.prompt + completion * price.completion) / 1e6 if price else 0.0
        return Completion(content=content, prompt_tokens=prompt, completion_tokens=completion, cost_usd=cost,
                          seconds=seconds, attempts=attempts, finish_reason=finish_reason)


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date), capped at five minutes."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return max(0.0, min(seconds, 300.0))
