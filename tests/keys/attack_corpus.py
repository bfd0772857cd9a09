"""A seeded corpus of hostile requests to the HTTP endpoints around keys: the admin API
(``/key/*``, ``/spend/logs``), minting (``/v1/realtime/client_secrets``, the beta
``/v1/realtime/sessions``) and WebRTC calls (``/v1/realtime/calls``).

Every case is wrong by construction, so that each must be refused: a valid request with
at least one poison (a field of the wrong type, NaN or Infinity, a number out of range, a
negative count, JSON nested deep, bytes that are not UTF-8, a huge string, an unknown
field, a content type that is not the endpoint's, a field missing or null, an array where
an object belongs, a wrong key), plus whatever harmless noise the generator adds around
it. The same seed gives the same cases, so that a failure can be replayed.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass

# Stand-ins for the keys the test makes (valid in a URL and in a JSON string as they are).
KEY = "@virtual-key@"  # a key the admin cases aim at: it must be left as it is
OTHER_KEY = "@other-key@"
# Who presents the request (resolved to real keys by the test).
MASTER = "master"
VIRTUAL = "virtual"  # a virtual key: not the admin API's key
CALLER = "caller"  # the virtual key the calls are made with
SECRET = "secret"  # a client secret: mints nothing
WRONG = "wrong"  # a key no one issued
NOBODY = "nobody"  # no key at all


@dataclass(frozen=True)
class Case:
    what: str  # what is wrong, for the failure report
    method: str
    path: str
    bearer: str
    body: bytes | None = None
    content_type: str | None = "application/json"
    query: str = ""  # already encoded, as sent

    def describe(self) -> str:
        body = "" if self.body is None else f" body={self.body[:160]!r}"
        return (
            f"{self.what}: {self.method} {self.path}{self.query} as {self.bearer} "
            f"({self.content_type}){body}"
        )


type Raw = str  # a JSON value's text, as sent (NaN and Infinity included)
type Poison = Callable[[random.Random], Raw]


def _text(rng: random.Random, low: int = 1, high: int = 40) -> str:
    alphabet = string.ascii_letters + string.digits + " -_.é✓\u202e\t"
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(low, high)))


def _deep(rng: random.Random, low: int = 65, high: int = 4000) -> Raw:
    depth = rng.randrange(low, high)
    if rng.random() < 0.5:
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


def _huge_number(rng: random.Random) -> Raw:
    return rng.choice(["", "-"]) + "1" + "0" * rng.randrange(309, 3000)


def _non_finite(rng: random.Random) -> Raw:
    return rng.choice(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1E400", "nan"])


# Values of every JSON type, none of them valid where they are used below unless the
# field takes that type (each field picks the kinds it does not take).
KINDS: dict[str, Poison] = {
    "string": lambda rng: json.dumps(_text(rng)),
    "huge_string": lambda rng: json.dumps("x" * rng.randrange(300, 200_000)),
    "integer": lambda rng: str(rng.choice([0, 1, -1, 7, 2**31, 2**63, 10**30])),
    "float": lambda rng: rng.choice(["1.5", "-0.25", "1e308", "-1e-300", "0.1"]),
    "non_finite": _non_finite,
    "huge_number": _huge_number,
    "bool": lambda rng: rng.choice(["true", "false"]),
    "array": lambda rng: rng.choice(["[]", "[1, 2]", '["echo", null]', "[[]]", "[{}]"]),
    "object": lambda rng: rng.choice(["{}", '{"a": 1}', '{"seconds": 60}', '{"": null}']),
    "deep": _deep,
}


def _kinds_but(*allowed: str) -> Poison:
    choices = [k for k in KINDS if k not in allowed]

    def pick(rng: random.Random) -> Raw:
        return KINDS[rng.choice(choices)](rng)

    return pick


def _one_of(*values: Raw) -> Poison:
    return lambda rng: rng.choice(values)


def _either(*poisons: Poison) -> Poison:
    return lambda rng: rng.choice(poisons)(rng)


def _string_of(values: Callable[[random.Random], str]) -> Poison:
    return lambda rng: json.dumps(values(rng))


_BAD_DURATION = _either(
    _kinds_but("string"),
    _string_of(
        lambda rng: rng.choice(
            [
                "0s",
                "0d",
                "-1d",
                "1.5d",
                "30dd",
                "d",
                "30",
                "",
                "forever",
                f"{rng.randrange(36501, 10**6)}d",
                f"{rng.randrange(10**12, 10**15)}s",
                "9" * rng.randrange(13, 40) + "mo",
                " " * 20 + "1d",
                "x" + _text(rng),
            ]
        )
    ),
)

# What a key's team_id or user_id must not be.
_LABEL = _either(
    _kinds_but("string", "huge_string"),
    _string_of(lambda rng: "x" * rng.randrange(257, 100_000)),
    _string_of(lambda rng: _text(rng, 1, 10) + rng.choice("\n\r\x00\x1b\x7f") + "x"),
    _one_of('""'),
)

# What each key field must not be: its poisons.
KEY_FIELD_POISONS: dict[str, Poison] = {
    "max_budget": _either(
        _non_finite,
        _huge_number,
        _one_of("-1", "-0.01", "-1e308", '"5"', '"NaN"', "true", "[]", "{}"),
        lambda rng: _deep(rng),
    ),
    "max_parallel_requests": _either(
        lambda rng: str(rng.choice([0, -1, -(2**40), 1_000_001, 2**31, 10**30, 10**400])),
        _one_of("1.5", "2.0", '"2"', "true", "false", "[]", "{}", "NaN", "1e999"),
    ),
    "duration": _BAD_DURATION,
    "budget_duration": _BAD_DURATION,
    "key_alias": _either(
        _kinds_but("string", "huge_string"),
        _string_of(lambda rng: "x" * rng.randrange(257, 100_000)),
        _string_of(lambda rng: _text(rng, 1, 10) + rng.choice("\n\r\x00\x1b\x7f") + "x"),
        _one_of('""'),
    ),
    "models": _either(
        _kinds_but("array"),
        _one_of("[1]", "[null]", '[""]', '[["echo"]]', '[{"name": "echo"}]'),
        lambda rng: json.dumps(["x" * rng.randrange(257, 5000)]),
        lambda rng: json.dumps(["echo"] * rng.randrange(1001, 3000)),
    ),
    "metadata": _kinds_but("object"),
    "blocked": _kinds_but("bool"),
    "team_id": _LABEL,
    "user_id": _LABEL,
    "key_type": _either(
        _kinds_but("string"), _one_of('"admin"', '"DEFAULT"', '""', '"proxy_admin"', '"llm"')
    ),
    "rpm_limit": _either(
        lambda rng: str(rng.choice([-1, -(2**40), 1_000_001, 10**30, 10**400])),
        _one_of("1.5", "2.0", '"2"', "true", "false", "[]", "{}", "NaN", "1e999"),
    ),
    "tpm_limit": _either(
        lambda rng: str(rng.choice([-1, -(2**40), 10**12 + 1, 10**30, 10**400])),
        _one_of("1.5", "2.0", '"2"', "true", "false", "[]", "{}", "NaN", "1e999"),
    ),
    "tags": _either(
        _kinds_but("array"),
        _one_of("[1]", "[null]", '[""]', '[["a"]]', '[{"a": 1}]'),
        lambda rng: json.dumps(["t"] * rng.randrange(101, 500)),
        lambda rng: json.dumps(["x" * rng.randrange(257, 5000)]),
    ),
}
NOT_ENFORCED = ["soft_budget", "aliases"]

# Valid values, to surround the poison with.
KEY_FIELD_VALID: dict[str, Callable[[random.Random], object]] = {
    "max_budget": lambda rng: rng.choice([0, 0.5, 10, 1e6, None]),
    "max_parallel_requests": lambda rng: rng.choice([1, 2, 50, None]),
    "duration": lambda rng: rng.choice(["30d", "1h", "permanent", None]),
    "budget_duration": lambda rng: rng.choice(["30d", "1mo", "24h", None]),
    "models": lambda rng: rng.choice([[], ["echo"], ["echo", "other"], None]),
    "metadata": lambda rng: rng.choice([{}, {"team": "a"}, {"n": [1, {"x": None}]}, None]),
    "blocked": lambda rng: rng.choice([True, False, None]),
}


def _object(fields: dict[str, Raw]) -> bytes:
    return ("{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in fields.items()) + "}").encode()


def _noise(
    rng: random.Random, valid: dict[str, Callable[[random.Random], object]]
) -> dict[str, Raw]:
    names = rng.sample(sorted(valid), rng.randrange(0, len(valid) + 1))
    return {name: json.dumps(valid[name](rng)) for name in names}


def _unknown_name(rng: random.Random) -> str:
    return rng.choice(
        [
            _text(rng, 1, 20),
            "x" * rng.randrange(100, 5000),
            "__proto__",
            "constructor",
            "",
            "\u0000",
            "MAX_BUDGET",
            "max_budget ",
        ]
    )


def _unknown_field(rng: random.Random, known: set[str]) -> str:
    while (name := _unknown_name(rng)) in known:
        pass
    return name


# -- whole-body poisons, for any JSON endpoint ---------------------------------------------


def _body_poisons(
    rng: random.Random, valid_body: bytes, *, empty_is_valid: bool
) -> tuple[str, bytes, str | None]:
    """(what, body, content type): a body that is no JSON object the endpoint takes."""
    kind = rng.randrange(11)
    if kind == 0:
        at = rng.randrange(1 if empty_is_valid else 0, len(valid_body) - 1)
        return "truncated JSON", valid_body[:at], "application/json"
    if kind == 1:
        junk = rng.choice([b"x", b"}", b",", b" {}", b"\x00", b"\n[]"])
        return "trailing garbage", valid_body + junk, "application/json"
    if kind == 2:
        raw = rng.choice([b"[]", b"[{}]", b'"x"', b"1", b"null", b"true", b"1e999", b"NaN"])
        return "not an object", raw, "application/json"
    if kind == 3:
        depth = rng.choice([65, 100, 1000, 10_000, 100_000])
        return f"nested {depth} deep", b"[" * depth + b"]" * depth, "application/json"
    if kind == 4:
        # Bytes that are not UTF-8, inside a string or around the JSON.
        bad = bytes([rng.randrange(0x80, 0x100)]) + rng.choice([b"", b"\xff", b"\xc0\xaf"])
        cut = valid_body.rfind(b"}")
        if rng.random() < 0.5 and cut > 0:
            body = valid_body[:cut] + (b", " if cut > 1 else b"") + b'"k": "' + bad + b'"}'
        else:
            body = bad + valid_body
        return "not UTF-8", body, "application/json"
    if kind == 5:
        escape = rng.choice([b"\\ud800", b"\\udfff", b"\\ud83d", b"\\udc00x"])
        return "lone surrogate", b'{"k": "' + escape + b'"}', "application/json"
    if kind == 6:
        return "byte-order mark", b"\xef\xbb\xbf" + valid_body, "application/json"
    if kind == 7:
        content_type = rng.choice(
            [
                "text/plain",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
                "application/xml",
                "application/jsonx",
                "text/json",
                "application/sdp",
            ]
        )
        return f"content type {content_type!r}", valid_body, content_type
    if kind == 8:
        size = rng.randrange(1 << 20, 3 << 20)
        return f"{size} bytes", b'{"k": "' + b"y" * size + b'"}', "application/json"
    if kind == 9:
        return "NaN in a number's place", b'{"k": NaN}', "application/json"
    # The right JSON in another encoding.
    encoding = rng.choice(["utf-16", "utf-32", "latin-1"])
    text = valid_body.decode() if encoding != "latin-1" else '{"key_alias": "é"}'
    return f"JSON in {encoding}", text.encode(encoding), "application/json"


def _auth_poison(rng: random.Random, *allowed_wrong: str) -> str:
    return rng.choice([WRONG, NOBODY, *allowed_wrong])


# -- the admin API ---------------------------------------------------------------------------


def _key_body_case(rng: random.Random, path: str, update: bool) -> Case:
    fields = _noise(rng, KEY_FIELD_VALID)
    head: dict[str, Raw] = {"key": json.dumps(KEY)} if update else {}
    kind = rng.randrange(10)
    if kind < 5:
        name = rng.choice(sorted(KEY_FIELD_POISONS))
        fields[name] = KEY_FIELD_POISONS[name](rng)
        what = f"{name} poisoned"
    elif kind == 5:
        name = rng.choice([*NOT_ENFORCED, _unknown_field(rng, {"key", *KEY_FIELD_POISONS})])
        fields[name] = KINDS[rng.choice(sorted(KINDS))](rng)
        what = f"unknown field {name[:30]!r}"
    elif kind == 6 and update:
        head["key"] = rng.choice(["null", '""', "5", "[]", '{"k": 1}', '"sk-nope"', "true"])
        what = f"key {head['key']}"
        if rng.random() < 0.3:
            del head["key"]
            what = "key missing"
    elif kind == 6:
        # A key of the client's own is taken (LiteLLM's "key"), in a key's shape only.
        prefix = rng.choice(["sk-", "pk-", "", "sk_", "SK-"])
        bad = rng.choice([" ", "é", "✓", "\u202e", "\t", "/", "=", "%", ",", ";"])
        head["key"] = json.dumps(prefix + _text(rng, 1, 20) + bad + _text(rng, 1, 20))
        what = "a key of the client's own not in a key's shape"
    else:
        body = _object({**head, **fields})
        what, poisoned, content_type = _body_poisons(rng, body, empty_is_valid=False)
        bearer = MASTER if rng.random() < 0.9 else _auth_poison(rng, VIRTUAL)
        return Case(what, "POST", path, bearer, poisoned, content_type)
    bearer = MASTER if rng.random() < 0.9 else _auth_poison(rng, VIRTUAL)
    if bearer != MASTER:
        what += f", as {bearer}"
    return Case(what, "POST", path, bearer, _object({**head, **fields}))


def _delete_case(rng: random.Random) -> Case:
    kind = rng.randrange(6)
    if kind == 0:
        name = rng.choice(["keys", "key_aliases"])
        raw = rng.choice(
            [
                json.dumps(KEY),
                "[1]",
                "[null]",
                '[""]',
                json.dumps([[KEY]]),
                json.dumps({KEY: 1}),
                "5",
                "true",
                json.dumps(["sk-x"] * 1001),
                _deep(rng),
            ]
        )
        return Case(f"{name} = {raw[:30]}", "POST", "/key/delete", MASTER, _object({name: raw}))
    if kind == 1:
        missing = json.dumps("sk-" + _text(rng, 8, 30))
        raw = rng.choice(
            [
                f"[{json.dumps(KEY)}, {missing}]",
                f"[{missing}]",
                json.dumps([KEY, KEY, missing]),
                json.dumps([OTHER_KEY, missing]),
            ]
        )
        return Case(
            "a key not found (none deleted)", "POST", "/key/delete", MASTER, _object({"keys": raw})
        )
    if kind == 2:
        alias = json.dumps(_text(rng))
        return Case(
            "an alias not found",
            "POST",
            "/key/delete",
            MASTER,
            _object({"key_aliases": f"[{alias}]", "keys": json.dumps([KEY])}),
        )
    if kind == 3:
        name = _unknown_field(rng, {"keys", "key_aliases"})
        body = _object({"keys": json.dumps([KEY]), name: "true"})
        return Case(f"unknown field {name[:30]!r}", "POST", "/key/delete", MASTER, body)
    if kind == 4:
        body = rng.choice([b"{}", b'{"keys": []}', b'{"keys": null, "key_aliases": null}'])
        return Case("nothing to delete", "POST", "/key/delete", MASTER, body)
    valid = _object({"keys": json.dumps([KEY])})
    what, body, content_type = _body_poisons(rng, valid, empty_is_valid=False)
    bearer = MASTER if rng.random() < 0.8 else _auth_poison(rng, VIRTUAL)
    return Case(what, "POST", "/key/delete", bearer, body, content_type)


def _query(pairs: list[tuple[str, str]]) -> str:
    from urllib.parse import quote

    return "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


def _info_case(rng: random.Random) -> Case:
    kind = rng.randrange(5)
    if kind == 0:
        return Case("no key", "GET", "/key/info", MASTER, None, None, rng.choice(["", "?key="]))
    if kind == 1:
        key = rng.choice(
            [
                "sk-" + _text(rng, 8, 40),
                "a" * 64,
                "x" * rng.randrange(1000, 6000),
                _text(rng),
                "ek_" + _text(rng, 8, 30),
            ]
        )
        return Case("no such key", "GET", "/key/info", MASTER, None, None, _query([("key", key)]))
    if kind == 2:
        raw = rng.choice(["?key=%FF%FE", "?key=%00", "?key=%ED%A0%80", "?key=sk-%C0%AF"])
        return Case("a key that is not UTF-8", "GET", "/key/info", MASTER, None, None, raw)
    return Case(
        "the key of another",
        "GET",
        "/key/info",
        _auth_poison(rng, VIRTUAL),
        None,
        None,
        f"?key={OTHER_KEY}",
    )


def _list_case(rng: random.Random) -> Case:
    if rng.random() < 0.15:
        return Case("listed by another", "GET", "/key/list", _auth_poison(rng, VIRTUAL), None, None)
    name = rng.choice(["page", "size"])
    value = rng.choice(
        [
            "0",
            "-1",
            "1.5",
            "x",
            "",
            "1e3",
            "٣",
            "１",
            "0x10",
            str(rng.randrange(10**6 + 1, 10**30)),
            "9" * rng.randrange(20, 5000),
            "101" if name == "size" else "1000001",
        ]
    )
    noise = (
        [("return_full_object", rng.choice(["true", "false", "x"]))] if rng.random() < 0.5 else []
    )
    return Case(
        f"{name}={value[:20]!r}",
        "GET",
        "/key/list",
        MASTER,
        None,
        None,
        _query([(name, value), *noise]),
    )


def _spend_case(rng: random.Random) -> Case:
    if rng.random() < 0.15:
        return Case(
            "spend read by another", "GET", "/spend/logs", _auth_poison(rng, VIRTUAL), None, None
        )
    name = rng.choice(["start_date", "end_date"])
    value = rng.choice(
        [
            "yesterday",
            "2026-13-01",
            "2026-02-30",
            "0001-01-01T00:00:00+05:00",
            "9999-12-31T23:59:59-05:00",
            "2026-01-01T25:00",
            "-2026-01-01",
            "x" + _text(rng),
            "2" * rng.randrange(20, 3000),
        ]
    )
    noise = [("api_key", "sk-" + _text(rng, 8, 20))] if rng.random() < 0.5 else []
    return Case(
        f"{name}={value[:30]!r}",
        "GET",
        "/spend/logs",
        MASTER,
        None,
        None,
        _query([(name, value), *noise]),
    )


# -- minting ---------------------------------------------------------------------------------

# Session fields and what each must not be (the provider and the protocol refuse them).
SESSION_FIELD_POISONS: dict[str, Poison] = {
    "instructions": _kinds_but("string", "huge_string"),
    "voice": _either(_kinds_but("string", "huge_string"), _one_of('"no-such-voice"')),
    "tools": _either(_kinds_but("array"), _one_of('[{"type": "bogus"}]', "[1]", '["f"]')),
    "temperature": _one_of('"hot"', "[]", "{}", "true", "NaN", "1e999"),
    "max_response_output_tokens": _one_of('"x"', "[]", "{}", "-5", "0", "1.5", "true"),
    "turn_detection": _one_of('"on"', "5", "[]", '{"type": "bogus"}', "true"),
    "model": _either(_kinds_but("string", "huge_string"), _one_of('"no-such-model"', '""')),
}
SESSION_VALID: dict[str, Callable[[random.Random], object]] = {
    "instructions": lambda rng: rng.choice(["Be brief.", "", "Sé breve ✓"]),
    "voice": lambda rng: rng.choice(["alloy", "echo-voice"]),
}


def _session(rng: random.Random, ga: bool) -> tuple[str, dict[str, Raw]]:
    """A session object with one poisoned field; (what, fields)."""
    fields = _noise(rng, SESSION_VALID)
    if ga:
        fields["type"] = '"realtime"'
    fields["model"] = '"echo"'
    if rng.random() < 0.15:
        name = _unknown_field(rng, {"type", "model", *SESSION_FIELD_POISONS})
        fields[name] = KINDS[rng.choice(sorted(KINDS))](rng)
        return f"unknown session field {name[:30]!r}", fields
    if ga and rng.random() < 0.1:
        fields["type"] = rng.choice(['"transcription"', "null", "5", '"Realtime"', "[]"])
        return f"session.type {fields['type']}", fields
    name = rng.choice(sorted(SESSION_FIELD_POISONS))
    fields[name] = SESSION_FIELD_POISONS[name](rng)
    return f"session.{name} poisoned", fields


def _mint_case(rng: random.Random) -> Case:
    path = "/v1/realtime/client_secrets"
    expires: dict[str, Raw] = {}
    if rng.random() < 0.5:
        expires["anchor"] = '"created_at"'
    if rng.random() < 0.7:
        expires["seconds"] = str(rng.randrange(10, 7201))
    session_what, session = _session(rng, ga=True)
    body: dict[str, Raw] = {
        "expires_after": _object(expires).decode(),
        "session": _object(session).decode(),
    }
    kind = rng.randrange(10)
    if kind < 4:
        what = session_what
    elif kind == 4:
        body["expires_after"] = rng.choice(['"600"', "600", "[]", "true", '[{"seconds": 60}]'])
        what = f"expires_after {body['expires_after']}"
    elif kind == 5:
        expires["seconds"] = rng.choice(
            [
                "9",
                "7201",
                "0",
                "-600",
                "600.5",
                '"600"',
                "null",
                "true",
                "1e999",
                "NaN",
                str(10**30),
            ]
        )
        body["expires_after"] = _object(expires).decode()
        what = f"expires_after.seconds {expires['seconds']}"
    elif kind == 6:
        expires["anchor"] = rng.choice(['"now"', "null", "5", '"CREATED_AT"', "[]"])
        body["expires_after"] = _object(expires).decode()
        what = f"expires_after.anchor {expires['anchor']}"
    elif kind == 7:
        body["session"] = rng.choice(['"realtime"', "[]", "5", "true", '[{"type": "realtime"}]'])
        what = f"session {body['session']}"
    elif kind == 8:
        name = _unknown_field(rng, {"expires_after", "session"})
        body[name] = KINDS[rng.choice(sorted(KINDS))](rng)
        what = f"unknown field {name[:30]!r}"
    else:
        valid = _object({"session": '{"type": "realtime", "model": "echo"}'})
        what, poisoned, content_type = _body_poisons(rng, valid, empty_is_valid=True)
        bearer = rng.choice([MASTER, VIRTUAL])
        return Case(what, "POST", path, bearer, poisoned, content_type)
    bearer = rng.choice([MASTER, VIRTUAL])
    if rng.random() < 0.1:
        bearer = _auth_poison(rng, SECRET)
        # The request is refused for its key alone: the rest may be anything.
        what, body = f"minted by {bearer}", {"session": '{"type": "realtime", "model": "echo"}'}
    return Case(what, "POST", path, bearer, _object(body))


def _beta_case(rng: random.Random) -> Case:
    path = "/v1/realtime/sessions"
    if rng.random() < 0.25:
        what, poisoned, content_type = _body_poisons(rng, b'{"model": "echo"}', empty_is_valid=True)
        return Case(what, "POST", path, rng.choice([MASTER, VIRTUAL]), poisoned, content_type)
    what, session = _session(rng, ga=False)
    bearer = rng.choice([MASTER, VIRTUAL])
    if rng.random() < 0.1:
        bearer = _auth_poison(rng, SECRET)
        what, session = f"minted by {bearer}", {"model": '"echo"'}
    return Case(what, "POST", path, bearer, _object(session))


# -- calls -----------------------------------------------------------------------------------


def _multipart(
    parts: list[tuple[str, bytes]], boundary: str = "corpus-boundary"
) -> tuple[bytes, str]:
    mark = boundary.encode()
    body = b"".join(
        b"--"
        + mark
        + b'\r\nContent-Disposition: form-data; name="'
        + name.encode()
        + b'"\r\n\r\n'
        + value
        + b"\r\n"
        for name, value in parts
    )
    return body + b"--" + mark + b"--\r\n", f"multipart/form-data; boundary={boundary}"


def _garbage_sdp(rng: random.Random, offer: bytes) -> tuple[str, bytes]:
    kind = rng.randrange(6)
    if kind == 0:
        return "an offer of random text", _text(rng, 1, 400).encode()
    if kind == 1:
        return "an offer that is not UTF-8", offer[:30] + bytes(
            [rng.randrange(0x80, 0x100)]
        ) + offer[30:]
    if kind == 2:
        return "an offer of random bytes", rng.randbytes(rng.randrange(1, 2000))
    if kind == 3:
        return "an empty offer", b""
    if kind == 4:
        return "JSON for an offer", b'{"sdp": "v=0", "type": "offer"}'
    return "an offer of version 1", b"v=1\r\n" + _text(rng, 1, 40).encode()


def _calls_case(rng: random.Random, offer: str) -> Case:
    sdp = offer.encode()
    query = "?model=echo"
    bearer = CALLER
    kind = rng.randrange(10)
    if kind < 3:
        what, garbage = _garbage_sdp(rng, sdp)
        if rng.random() < 0.5:
            return Case(
                what, "POST", "/v1/realtime/calls", bearer, garbage, "application/sdp", query
            )
        body, content_type = _multipart([("sdp", garbage)])
        return Case(
            what + " (form)", "POST", "/v1/realtime/calls", bearer, body, content_type, query
        )
    if kind < 7:
        # A real offer; its session part is what is wrong.
        if rng.random() < 0.4:
            valid = b'{"type": "realtime", "instructions": "x"}'
            what, session, _ = _body_poisons(rng, valid, empty_is_valid=False)
            if what.startswith("content type"):
                what, session = "session part of random bytes", rng.randbytes(rng.randrange(1, 500))
            what = "session part: " + what
        else:
            what, fields = _session(rng, ga=rng.random() < 0.5)
            session = _object(fields)
            # The session names the model (?model= would stand before it).
            query = ""
        body, content_type = _multipart([("sdp", sdp), ("session", session)])
        return Case(what, "POST", "/v1/realtime/calls", bearer, body, content_type, query)
    if kind == 7:
        content_type = rng.choice(
            ["application/json", "text/plain", "application/octet-stream", "", "application/sdpx"]
        )
        return Case(
            f"the offer as {content_type!r}",
            "POST",
            "/v1/realtime/calls",
            bearer,
            sdp,
            content_type,
            query,
        )
    if kind == 8:
        pick = rng.randrange(4)
        if pick == 0:
            return Case(
                "no such model",
                "POST",
                "/v1/realtime/calls",
                bearer,
                sdp,
                "application/sdp",
                _query([("model", "x" + _text(rng, 1, 20))]),
            )
        if pick == 1:
            form = b"sdp=%FF%FE&session=%7B%7D"
            return Case(
                "a form that is not UTF-8",
                "POST",
                "/v1/realtime/calls",
                bearer,
                form,
                "application/x-www-form-urlencoded",
                query,
            )
        if pick == 2:
            size = rng.randrange(1 << 20, 2 << 20)
            return Case(
                f"a {size}-byte offer",
                "POST",
                "/v1/realtime/calls",
                bearer,
                sdp + b"a=x:" + b"y" * size,
                "application/sdp",
                query,
            )
        body, content_type = _multipart([("session", b'{"type": "realtime"}')])
        return Case(
            "a form with no sdp part",
            "POST",
            "/v1/realtime/calls",
            bearer,
            body,
            content_type,
            query,
        )
    return Case(
        "a call by a key no one issued",
        "POST",
        "/v1/realtime/calls",
        _auth_poison(rng),
        sdp,
        "application/sdp",
        query,
    )


# -- all of it -------------------------------------------------------------------------------


def corpus(seed: int, offer: str) -> list[Case]:
    """The cases, in a fixed order; ``offer`` is a real SDP offer for the calls' cases
    whose other parts are wrong."""
    rng = random.Random(seed)
    makers: list[tuple[int, Callable[[random.Random], Case]]] = [
        (70, lambda r: _key_body_case(r, "/key/generate", update=False)),
        (60, lambda r: _key_body_case(r, "/key/update", update=True)),
        (30, _delete_case),
        (20, _info_case),
        (20, _list_case),
        (20, _spend_case),
        (60, _mint_case),
        (30, _beta_case),
        (70, lambda r: _calls_case(r, offer)),
    ]
    cases = [make(rng) for count, make in makers for _ in range(count)]
    rng.shuffle(cases)
    return cases
