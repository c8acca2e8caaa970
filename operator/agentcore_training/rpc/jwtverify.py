"""Local verification of JWT bearer tokens (pure: PyJWT and cryptography, no I/O).

Accepted: HS256 with a shared secret, RS256 and ES256 with keys of a JWKS. Always checked:
the algorithm is one configured (so never `none`), the signature, `iss`, `aud`, `exp`
(required) and `nbf` (when present). Claims become a Principal by the configured claims
and prefixes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import jwt
from jwt import PyJWK, PyJWKSet

from agentcore_training.rpc.identity import Principal, map_claims


class JwtError(Exception):
    """The token is not acceptable; the message says why (for the log, not the caller)."""


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def unverified_issuer(token: str) -> str | None:
    """The `iss` claim, read without verification, to route the token to its verifier."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    issuer = claims.get("iss")
    return issuer if isinstance(issuer, str) else None


class JwtVerifier:
    """Verifies tokens of one issuer; holds the secret and the JWKS."""

    def __init__(
        self,
        *,
        issuer: str,
        audiences: Sequence[str],
        algorithms: Sequence[str],
        hs256_secret: bytes | None = None,
        jwks: Mapping[str, Any] | None = None,
        leeway: int = 0,
        username_claim: str = "sub",
        groups_claim: str = "groups",
        username_prefix: str = "",
        groups_prefix: str = "",
    ) -> None:
        self.issuer = issuer
        self.audiences = list(audiences)
        self.algorithms = [alg for alg in algorithms if alg != "HS256" or hs256_secret]
        self._secret = hs256_secret
        self._keys: list[PyJWK] = []
        self.leeway = leeway
        self._claims = (username_claim, groups_claim, username_prefix, groups_prefix)
        if jwks is not None:
            self.set_jwks(jwks)

    def set_jwks(self, jwks: Mapping[str, Any]) -> None:
        """Replace the keys; keys of other algorithms or types are skipped."""
        try:
            keyset = PyJWKSet.from_dict(dict(jwks))
        except jwt.PyJWTError as error:
            raise JwtError(f"unusable JWKS: {error}") from None
        self._keys = [key for key in keyset.keys if key.key_type in ("RSA", "EC")]

    def _key_for(self, alg: str, kid: str | None) -> Any:
        if alg == "HS256":
            return self._secret
        candidates = [
            key
            for key in self._keys
            if key.algorithm_name == alg and (kid is None or key.key_id == kid)
        ]
        if kid is None and len(candidates) != 1:
            raise JwtError("the token names no kid and the JWKS has no single key for it")
        if not candidates:
            raise JwtError(f"no {alg} key with kid {kid!r} in the JWKS")
        return candidates[0].key

    def verify(self, token: str) -> tuple[Principal, float]:
        """The caller and the expiry (epoch seconds) of a valid token; JwtError otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise JwtError(f"malformed JWT: {error}") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise JwtError(f"algorithm {alg!r} is not accepted")
        kid = header.get("kid")
        key = self._key_for(alg, kid if isinstance(kid, str) else None)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=self.audiences,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise JwtError(f"rejected JWT: {error}") from None
        username_claim, groups_claim, username_prefix, groups_prefix = self._claims
        principal = map_claims(
            claims,
            username_claim=username_claim,
            groups_claim=groups_claim,
            username_prefix=username_prefix,
            groups_prefix=groups_prefix,
        )
        if principal is None:
            raise JwtError(f"the JWT has no {username_claim!r} claim")
        exp = claims.get("exp")
        return principal, float(exp) if isinstance(exp, int | float) else time.time()
