"""The HTTP side of an OpenAI-compatible inference server: probe, stream a completion, tokenize.

What is sent: the prompt text, the generation parameters (``max_tokens``, greedy sampling) and, when
configured, an ``Authorization: Bearer`` header — only over https://, or plain http:// to this machine
(a key sent in clear text across a network is a key given away). Redirects are never followed: a
redirected request is a failed one, so the key cannot be carried to wherever a server points. The key is
never logged, nor put in an error message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import requests

from fireside.addresses import may_carry_secret

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 2.0
CONNECT_TIMEOUT_S = 2.0


class EndpointError(Exception):
    """The endpoint could not answer this request (down, slow, or an HTTP error)."""


class EndpointBusy(EndpointError, TimeoutError):
    """Connected, but no answer in time: the server is busy (or hung)."""


def base_url(url: str) -> str:
    """``http://host:8000``, also when the user wrote ``http://host:8000/v1/``."""
    url = url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


@dataclass(frozen=True)
class TokenizerRoute:
    """How one server tokenizes: llama-cpp-python's ``/extras/...`` or llama.cpp's ``/tokenize``."""

    tokenize_path: str
    detokenize_path: str
    start_tokens: tuple[int, ...]  # what the server puts before any text (BOS), stripped from answers


class OpenAIClient:
    """One requests session per thread that uses it; the API key only lives in per-request headers."""

    def __init__(self, api_key: str | None) -> None:
        self._authorization = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._session = requests.Session()
        self._refused: set[str] = set()  # endpoints told that they get no key

    def __repr__(self) -> str:  # never show the key, not even in a debugger's repr
        return f"OpenAIClient(authorized={bool(self._authorization)})"

    def _headers(self, url: str) -> dict[str, str]:
        if not self._authorization or may_carry_secret(url):
            return self._authorization
        if url not in self._refused:
            self._refused.add(url)
            logger.warning(
                "endpoint %s is plain http:// to another machine: the API key is not sent to it (use https://)", url
            )
        return {}

    def _request(self, method: str, url: str, **kwargs: object) -> requests.Response:
        """One request, never redirected: a 3xx answer raises (closing the response)."""
        response = self._session.request(
            method, url, headers=self._headers(url), allow_redirects=False, **kwargs  # type: ignore[arg-type]
        )
        if 300 <= response.status_code < 400:
            response.close()
            raise EndpointError(f"HTTP {response.status_code}: a redirect, not followed")
        return response

    def models(self, url: str) -> list[str]:
        try:
            response = self._request("GET", f"{base_url(url)}/v1/models", timeout=PROBE_TIMEOUT_S)
            response.raise_for_status()
            return [str(model.get("id", "")) for model in response.json().get("data", [])]
        except requests.ReadTimeout:
            raise EndpointBusy("timed out") from None
        except (requests.RequestException, ValueError, AttributeError) as error:
            raise EndpointError(_describe(error)) from None

    def probe(self, url: str) -> None:
        self.models(url)

    def stream_completion(
        self,
        url: str,
        prompt: str,
        *,
        max_tokens: int,
        timeout_s: float,
        cancelled: Callable[[], bool],
        stop: list[str] | None = None,
    ) -> Iterator[str]:
        """Text pieces as the server generates them. Raises EndpointError when the server fails, or
        sends nothing for ``timeout_s`` (too slow: the caller tries another one)."""
        body = {
            "prompt": prompt,
            "max_tokens": max_tokens,
            "temperature": 0.0,  # greedy, as the local model: the same context gives the same completion
            "top_p": 1.0,
            "top_k": 1,
            "repeat_penalty": 1.0,  # llama.cpp servers default to 1.1, which changes greedy output
            "stream": True,
        }
        if stop:
            body["stop"] = stop
        try:
            with self._request(
                "POST", f"{base_url(url)}/v1/completions", json=body, stream=True, timeout=(CONNECT_TIMEOUT_S, timeout_s)
            ) as response:
                response.raise_for_status()
                for line in response.iter_lines(decode_unicode=True):
                    if cancelled():
                        return  # closing the stream tells the server to stop
                    if not line or not line.startswith("data:"):
                        continue
                    data = line[len("data:") :].strip()
                    if data == "[DONE]":
                        return
                    choices = json.loads(data).get("choices") or [{}]
                    text = choices[0].get("text") or ""
                    if text:
                        yield text
        except (requests.RequestException, ValueError, AttributeError) as error:
            raise EndpointError(_describe(error)) from None

    # ----- tokenizing -----------------------------------------------------------------------------
    def tokenizer_route(self, url: str, timeout_s: float) -> TokenizerRoute | None:
        """The server's tokenizer endpoints, or None when it has none (Ollama, say)."""
        for tokenize_path, detokenize_path in (("/extras/tokenize", "/extras/detokenize"), ("/tokenize", "/detokenize")):
            try:
                start = self._tokenize(url, tokenize_path, "", timeout_s)
            except EndpointError as error:
                if str(error).startswith("HTTP 4"):
                    continue  # no such endpoint here: try the other spelling
                raise  # down or busy: ask again later

            return TokenizerRoute(tokenize_path, detokenize_path, tuple(start))
        return None

    def tokenize(self, url: str, route: TokenizerRoute, text: str, timeout_s: float) -> list[int]:
        tokens = self._tokenize(url, route.tokenize_path, text, timeout_s)
        start = list(route.start_tokens)
        return tokens[len(start) :] if start and tokens[: len(start)] == start else tokens

    def _tokenize(self, url: str, path: str, text: str, timeout_s: float) -> list[int]:
        # llama-cpp-python reads "input"; llama.cpp's server reads "content" (and "add_special").
        body = {"input": text, "content": text, "add_special": False}
        try:
            response = self._request("POST", f"{base_url(url)}{path}", json=body, timeout=(CONNECT_TIMEOUT_S, timeout_s))
            response.raise_for_status()
            tokens = response.json()["tokens"]
        except requests.ReadTimeout:
            raise EndpointBusy("timed out") from None
        except (requests.RequestException, ValueError, KeyError, TypeError) as error:
            raise EndpointError(_describe(error)) from None
        if not isinstance(tokens, list) or not all(isinstance(token, int) for token in tokens):
            raise EndpointError(f"{path} answered something other than a list of token ids")
        return tokens

    def detokenize(self, url: str, route: TokenizerRoute, tokens: list[int], timeout_s: float) -> str:
        try:
            response = self._request(
                "POST", f"{base_url(url)}{route.detokenize_path}", json={"tokens": tokens},
                timeout=(CONNECT_TIMEOUT_S, timeout_s),
            )
            response.raise_for_status()
            answer = response.json()
        except (requests.RequestException, ValueError) as error:
            raise EndpointError(_describe(error)) from None
        text = answer.get("text", answer.get("content")) if isinstance(answer, dict) else None
        if not isinstance(text, str):
            raise EndpointError(f"{route.detokenize_path} answered no text")
        return text

    def close(self) -> None:
        self._session.close()


def _describe(error: Exception) -> str:
    """A short reason for logs and messages: the exception type and status, never request headers."""
    if isinstance(error, requests.HTTPError) and error.response is not None:
        return f"HTTP {error.response.status_code}"
    if isinstance(error, requests.Timeout):
        return "timed out"
    if isinstance(error, requests.ConnectionError):
        return "connection failed"
    return type(error).__name__
