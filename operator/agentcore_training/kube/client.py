"""A small typed REST client over kubernetes_asyncio: plain dicts in and out.

kubernetes_asyncio loads kubeconfig (tokens, client certificates, exec plugins) and in-cluster
configuration and owns the HTTP session; this layer keeps the rest of the code free of its
generated model classes, so builders stay pure functions over dicts.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal

import aiohttp
from kubernetes_asyncio import config as kube_config
from kubernetes_asyncio.client import ApiClient, Configuration

PatchType = Literal["merge", "strategic", "json", "apply"]
_PATCH_CONTENT_TYPES: dict[PatchType, str] = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}


class ApiError(Exception):
    """A non-2xx answer of the apiserver, with its Status object when it sent one."""

    def __init__(self, status: int, body: Mapping[str, Any] | None, text: str) -> None:
        self.status = status
        self.body: Mapping[str, Any] = body or {}
        self.reason = str(self.body.get("reason", ""))
        message = str(self.body.get("message", "")) or text[:500]
        super().__init__(f"{status} {self.reason}: {message}".strip())
        self.message = message

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def conflict(self) -> bool:
        return self.status == 409


def path_for(
    api_version: str,
    plural: str,
    *,
    namespace: str | None = None,
    name: str | None = None,
    subresource: str | None = None,
) -> str:
    """The REST path of a resource collection or object (`v1` is the core group)."""
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    parts = [base]
    if namespace is not None:
        parts.append(f"namespaces/{namespace}")
    parts.append(plural)
    if name is not None:
        parts.append(name)
    if subresource is not None:
        parts.append(subresource)
    return "/".join(parts)


class KubeClient:
    """Requests to the apiserver as dicts; raises ApiError for non-2xx answers."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    @classmethod
    async def connect(cls, kubeconfig: str | None = None) -> KubeClient:
        """In-cluster configuration inside a pod, else KUBECONFIG (or ~/.kube/config)."""
        configuration = Configuration()
        if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            kube_config.load_incluster_config(  # type: ignore[no-untyped-call]
                client_configuration=configuration
            )
        else:
            await kube_config.load_kube_config(
                config_file=kubeconfig or os.environ.get("KUBECONFIG"),
                client_configuration=configuration,
            )
        return cls(ApiClient(configuration))

    @property
    def host(self) -> str:
        return str(self._api.configuration.host)

    async def close(self) -> None:
        await self._api.close()

    async def __aenter__(self) -> KubeClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def _send(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | int | bool] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        request_timeout: float | None = 30,
    ) -> aiohttp.ClientResponse:
        params = [
            (k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in (query or {}).items()
        ]
        response: aiohttp.ClientResponse = await self._api.call_api(
            path,
            method,
            query_params=params,
            header_params={"Content-Type": content_type, "Accept": "application/json"},
            body=body,
            auth_settings=["BearerToken"],
            _preload_content=False,
            _request_timeout=request_timeout,
        )
        return response

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | int | bool] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        request_timeout: float | None = 30,
    ) -> dict[str, Any]:
        """One request; the decoded JSON answer (an empty dict for an empty body)."""
        answer, _ = await self._answer(
            method,
            path,
            query=query,
            body=body,
            content_type=content_type,
            request_timeout=request_timeout,
        )
        return answer

    async def _answer(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | int | bool] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        request_timeout: float | None = 30,
    ) -> tuple[dict[str, Any], list[str]]:
        """The decoded answer and the apiserver's warnings (its `Warning` headers)."""
        try:
            response = await self._send(
                method,
                path,
                query=query,
                body=body,
                content_type=content_type,
                request_timeout=request_timeout,
            )
        except Exception as error:
            status = getattr(error, "status", None)
            text = str(getattr(error, "body", "") or "")
            if isinstance(status, int):
                raise ApiError(status, _decode(text), text) from None
            raise
        text = await response.text()
        if response.status >= 300:
            raise ApiError(response.status, _decode(text), text)
        return _decode(text) or {}, warnings_of(response.headers.getall("Warning", []))

    async def get(self, path: str, **query: str | int | bool) -> dict[str, Any]:
        return await self.request("GET", path, query=query)

    async def get_or_none(self, path: str, **query: str | int | bool) -> dict[str, Any] | None:
        """The object at `path`, or None when there is none (404); other errors raise."""
        try:
            return await self.get(path, **query)
        except ApiError as error:
            if error.not_found:
                return None
            raise

    async def create(self, path: str, body: Mapping[str, Any], **query: str) -> dict[str, Any]:
        return await self.request("POST", path, body=dict(body), query=query)

    async def create_warned(
        self, path: str, body: Mapping[str, Any], **query: str
    ) -> tuple[dict[str, Any], list[str]]:
        """Create, and say what the apiserver warned of (admission webhooks' `warnings`,
        deprecations): what kubectl prints as `Warning: ...` on create."""
        return await self._answer("POST", path, body=dict(body), query=query)

    async def patch(
        self, path: str, body: Any, *, patch_type: PatchType = "merge", **query: str | bool
    ) -> dict[str, Any]:
        return await self.request(
            "PATCH", path, body=body, content_type=_PATCH_CONTENT_TYPES[patch_type], query=query
        )

    async def delete(
        self, path: str, *, propagation: str = "Background", **query: str
    ) -> dict[str, Any]:
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation}
        return await self.request("DELETE", path, body=body, query=query)

    async def watch(
        self,
        path: str,
        *,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int = 300,
    ) -> AsyncIterator[dict[str, Any]]:
        """Watch events ({type, object}) of a collection until the server ends the watch.

        A 410 Gone arrives as an ERROR event; the caller then lists again.
        """
        query: dict[str, str | int | bool] = {
            "watch": True,
            "timeoutSeconds": timeout_seconds,
            "allowWatchBookmarks": True,
        }
        if resource_version:
            query["resourceVersion"] = resource_version
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        response = await self._send("GET", path, query=query, request_timeout=timeout_seconds + 30)
        try:
            if response.status >= 300:
                text = await response.text()
                raise ApiError(response.status, _decode(text), text)
            async for line in response.content:
                if line.strip():
                    event: dict[str, Any] = json.loads(line)
                    yield event
        finally:
            response.release()


_WARNING = re.compile(r'^\d{3} \S+ "((?:[^"\\]|\\.)*)"')


def warnings_of(headers: list[str]) -> list[str]:
    """The texts of `Warning` headers (RFC 7234: `299 - "text"`, the apiserver's form)."""
    texts = []
    for header in headers:
        match = _WARNING.match(header.strip())
        texts.append(re.sub(r"\\(.)", r"\1", match.group(1)) if match else header.strip())
    return texts


def _decode(text: str) -> dict[str, Any] | None:
    try:
        decoded = json.loads(text) if text else None
    except json.JSONDecodeError:
        return None
    return decoded if isinstance(decoded, dict) else None
