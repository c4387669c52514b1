"""URLs as Enrich stores them: parsed by Java's `java.net.URI`, with Enrich's repairs when Java refuses.

Enrich's ConversionUtils.stringToUri (snowplow/enrich, modules/common/.../utils/ConversionUtils.scala):
spaces become `%20`, then `java.net.URI` (RFC 2396 with Java's deviations) parses the text; when it
refuses, scala-uri 1.5.1 parses the original text leniently and writes it back percent-encoded
(`percentEncode -- '+'`), and Java parses that. `page_url` becomes the parsed URI's text and the
`page_url*`/`refr_url*` parts its raw components (ConversionUtils.explodeUri: the port is 443 for
https and 80 for any other scheme when none is given; host and scheme keep their case).

`parse_url` has a fast path, one regular expression for the common `scheme://host[:port]/path?query#fragment`
whose every character Java accepts as it stands; anything else goes through `JavaUriParser`, a port
of the JDK 17 parser's rules (its RFC 2396 character classes, server- or registry-based authority).
`scripts/compare-uri-with-jdk` checks both against `new java.net.URI(s)` on random URLs.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import NamedTuple

# RFC 2396 character classes, as java.net.URI names them.
ALPHA = "A-Za-z"
ALPHANUM = "A-Za-z0-9"
UNRESERVED = ALPHANUM + re.escape("-_.!~*'()")
RESERVED = re.escape(";/?:@&=+$,[]")
# Java lets through, unescaped, any character above U+0080 that is neither a space separator nor an ISO control.
OTHER = "\u00a1-\u167f\u1681-\u1fff\u200b-\u2027\u202a-\u202e\u2030-\u205e\u2060-\u2fff\u3001-\U0010ffff"
ESCAPE = "%[0-9A-Fa-f]{2}"


def _run(chars: str, escapes: bool = True) -> re.Pattern[str]:
    """The longest run of characters of a class (and %XX escapes and other characters, if it allows escapes)."""
    return re.compile(f"(?:[{chars}]+|{ESCAPE}|[{OTHER}]+)*" if escapes else f"[{chars}]*")


URIC = _run(RESERVED + UNRESERVED)
PATH = _run(UNRESERVED + re.escape(":@&=+$,;/"))
USERINFO = _run(UNRESERVED + re.escape(";:&=+$,"))
REG_NAME = _run(UNRESERVED + re.escape("$,;:@&=+"))
SERVER = _run(UNRESERVED + re.escape(";:&=+$,.:@[]"))
SERVER_PERCENT = _run(UNRESERVED + re.escape(";:&=+$,.:@[]%"))
SCHEME = re.compile(f"[{ALPHA}][{ALPHANUM}+.-]*")
DIGITS = re.compile("[0-9]*")
SCOPE_ID = re.compile(f"[{ALPHANUM}_.]*")
LABEL = re.compile(f"[{ALPHANUM}](?:[{ALPHANUM}-]*)")
IPV4_RUN = re.compile("[0-9.]*")

# The common case, where every character is one Java accepts as it stands: scheme://host[:port]path?query#fragment.
# Runs of one class each (fast), `%` included; that every `%` starts an escape is checked apart.
_PCHAR = f"[{UNRESERVED}{re.escape(':@&=+$,;/%')}]*"
_URIC = f"[{UNRESERVED}{RESERVED}%]*"
_HOST = f"(?:[{ALPHANUM}](?:[{ALPHANUM}-]*[{ALPHANUM}])?\\.)*[{ALPHA}](?:[{ALPHANUM}-]*[{ALPHANUM}])?\\.?"
SIMPLE_URL = re.compile(
    f"([{ALPHA}][{ALPHANUM}+.-]*)://({_HOST})(?::([0-9]{{1,9}}))?(/{_PCHAR})?(?:\\?({_URIC}))?(?:#({_URIC}))?\\Z"
)
STRAY_PERCENT = re.compile("%(?![0-9A-Fa-f]{2})")


class URISyntaxError(ValueError):
    """Java's URISyntaxException: its reason, where, and the text."""

    def __init__(self, reason: str, text: str, index: int) -> None:
        super().__init__(f"{reason} at index {index}: {text}")


class Uri(NamedTuple):
    """A parsed URI, as java.net.URI's accessors give it (a tuple: cheap to build on the hot path)."""

    text: str  # what `URI.toString()` gives: the text parsed
    scheme: str | None
    host: str | None  # None for a registry-based authority (an underscore, a non-ASCII name...)
    port: int  # -1 when none is given
    path: str | None  # raw, as getRawPath; None for an opaque URI (mailto:...)
    query: str | None
    fragment: str | None


class UnparsableUrl(ValueError):
    """Neither Java nor the scala-uri repair could read the URL; the message is Enrich's."""


# Events of one page share its URL and referrer (a page view and every page ping after it): parsed
# once for them all. Bounded, as anything keyed by client input: at most 512 URLs of 10,000 characters.
@lru_cache(maxsize=512)
def parse_url(text: str) -> Uri:
    """ConversionUtils.stringToUri; raises UnparsableUrl with Enrich's message."""
    spaced = text.replace(" ", "%20") if " " in text else text
    simple = SIMPLE_URL.match(spaced)
    if simple is not None and ("%" not in spaced or STRAY_PERCENT.search(spaced) is None):
        scheme, host, port, path, query, fragment = simple.groups()
        return Uri(spaced, scheme, host, int(port) if port else -1, path or "", query, fragment)
    try:
        return JavaUriParser(spaced).parse()
    except URISyntaxError as java_error:
        try:
            return JavaUriParser(repair(text)).parse()
        except URISyntaxError as scala_error:
            raise UnparsableUrl(
                f"Provided URI [{text}] could not be parsed, neither by Java parsing (error: [{java_error}]) "
                f"nor by Scala parsing (error: [{scala_error}])."
            ) from None


class JavaUriParser:
    """java.net.URI(String) of JDK 17: the same grammar, the same choices, the same refusals."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.host: str | None = None
        self.port = -1

    def fail(self, reason: str, index: int) -> URISyntaxError:
        return URISyntaxError(reason, self.text, index)

    def scan(self, pattern: re.Pattern[str], start: int, end: int) -> int:
        """End of the run of `pattern` from start; a `%` that starts no escape is an error, as in Java."""
        match = pattern.match(self.text, start, end)
        stop = match.end() if match else start
        if stop < end and self.text[stop] == "%":  # every run allows escapes; SERVER_PERCENT takes any `%`
            raise self.fail("Malformed escape pair", stop)
        return stop

    def check(self, pattern: re.Pattern[str], start: int, end: int, what: str) -> None:
        stop = self.scan(pattern, start, end)
        if stop < end:
            raise self.fail(f"Illegal character in {what}", stop)

    def parse(self) -> Uri:
        text, n = self.text, len(self.text)
        scheme = path = query = fragment = None
        first = re.search("[/?#:]", text)
        if first is not None and first.group() == ":":
            p = first.start()
            if p == 0:
                raise self.fail("Expected scheme name", 0)
            if not SCHEME.fullmatch(text, 0, p):
                raise self.fail("Illegal character in scheme name", 0 if not text[0].isascii() else 1)
            scheme = text[:p]
            p += 1
            if text.startswith("/", p):
                p, path, query = self.hierarchical(p)
            else:
                q = text.find("#", p)
                q = n if q < 0 else q
                if q <= p:
                    raise self.fail("Expected scheme-specific part", p)
                self.check(URIC, p, q, "opaque part")
                p = q
        else:
            p, path, query = self.hierarchical(0)
        if p < n and text[p] == "#":
            self.check(URIC, p + 1, n, "fragment")
            fragment = text[p + 1 :]
        return Uri(text, scheme, self.host, self.port, path, query, fragment)

    def hierarchical(self, start: int) -> tuple[int, str, str | None]:
        text, n, p = self.text, len(self.text), start
        if text.startswith("//", p):
            p += 2
            q = _find_any(text, "/?#", p)
            if q > p:
                p = self.authority(p, q)
            elif q >= n:
                raise self.fail("Expected authority", p)
        q = _find_any(text, "?#", p)
        self.check(PATH, p, q, "path")
        path, p, query = text[p:q], q, None
        if p < n and text[p] == "?":
            q = _find_any(text, "#", p + 1)
            self.check(URIC, p + 1, q, "query")
            query, p = text[p + 1 : q], q
        return p, path, query

    def authority(self, p: int, n: int) -> int:
        text = self.text
        server_run = SERVER_PERCENT if "]" in text[p:n] else SERVER
        server_chars = self.scan(server_run, p, n) == n
        registry_chars = self.scan(REG_NAME, p, n) == n
        if registry_chars and not server_chars:
            return n  # a registry-based authority: no host
        error = None
        q = p
        if server_chars:
            try:
                q = self.server(p, n)
                if q < n:
                    raise self.fail("Expected end of authority", q)
            except URISyntaxError as why:
                self.host, self.port, error, q = None, -1, why, p
        if q < n:
            if registry_chars:
                return n
            raise error or self.fail("Illegal character in authority", q)
        return n

    def server(self, p: int, n: int) -> int:
        text = self.text
        at = _find_any(text, "/?#@", p, n)
        if at < n and text[at] == "@":
            self.check(USERINFO, p, at, "user info")
            p = at + 1
        if p < n and text[p] == "[":
            close = _find_any(text, "/?#]", p + 1, n)
            if not (close > p + 1 and close < n and text[close] == "]"):
                raise self.fail("Expected closing bracket for IPv6 address", close)
            self.ipv6(p + 1, close)
            self.host, p = text[p : close + 1], close + 1
        else:
            q = self.ipv4(p, n)
            p = q if q > p else self.hostname(p, n)
        if p < n and text[p] == ":":
            p += 1
            q = digits.end() if (digits := DIGITS.match(text, p, n)) else p  # always a match, maybe empty
            if q > p:
                port = int(text[p:q])
                if port > 2**31 - 1:
                    raise self.fail("Malformed port number", p)
                self.port, p = port, q
        if p < n:
            raise self.fail("Expected port number", p)
        return p

    def ipv6(self, start: int, end: int) -> None:
        address, _, scope = self.text[start:end].partition("%")
        if "%" in self.text[start:end]:
            if not scope:
                raise self.fail("scope id expected", end)
            if not SCOPE_ID.fullmatch(scope):
                raise self.fail("Illegal character in scope id", start + len(address) + 1)
        try:
            ipaddress.IPv6Address(address)  # Java's own IPv6 grammar; the same addresses in practice
        except ValueError:
            raise self.fail("Malformed IPv6 address", start) from None

    def ipv4(self, start: int, n: int) -> int:
        """A dotted quad followed by the end or a `:`; -1 otherwise (it may still be a host name)."""
        text = self.text
        end = run.end() if (run := IPV4_RUN.match(text, start, n)) else start  # always a match, maybe empty
        octets = text[start:end].split(".")
        if end <= start or len(octets) != 4 or not all(o.isdigit() and int(o) <= 255 for o in octets):
            return -1
        if end < n and text[end] != ":":
            return -1
        self.host = text[start:end]
        return end

    def hostname(self, start: int, n: int) -> int:
        text, p, last = self.text, start, -1
        while p < n:
            label = LABEL.match(text, p, n)
            if label is None:
                break
            last, p = p, label.end()
            if text[p - 1] == "-":
                raise self.fail("Illegal character in hostname", p - 1)
            if p < n and text[p] == ".":
                p += 1
            else:
                break
        if p < n and text[p] != ":":
            raise self.fail("Illegal character in hostname", p)
        if last < 0:
            raise self.fail("Expected hostname", start)
        if last > start and not text[last].isalpha():  # a dotted name's last label starts with a letter
            raise self.fail("Illegal character in hostname", last)
        self.host = text[start:p]
        return p


def _find_any(text: str, chars: str, start: int, end: int | None = None) -> int:
    end = len(text) if end is None else end
    found = [i for i in (text.find(c, start, end) for c in chars) if i >= 0]
    return min(found) if found else end


# --- scala-uri 1.5.1's repair ---------------------------------------------------------------
# What Enrich's fallback writes: scala-uri's lenient parse (UrlParser), each part decoded with
# PercentDecoder(ignoreInvalidPercentEncoding = true) and encoded again with PercentEncoder's
# default set less `+`. Enrich's StringToUriSpec pins the visible effect: `%` that starts no
# escape, space, `|`, `$`, `{`, `}`, `[`, `]` and a second `#` are encoded; in the fragment
# `/ ? = &` too.

ENCODED = frozenset(":/?#[]@!$&'()*,;=" + ' %<>{}^`|\\"')
_ENCODE = [chr(b) if 32 <= b < 127 and chr(b) not in ENCODED else f"%{b:02X}" for b in range(256)]
SCALA_ABSOLUTE = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*):(?P<authority>//"
    r"(?:(?P<user>[^:/?\[\]@]+)(?::(?P<password>[^@]*))?@)?"
    r"(?:(?P<ipv4>\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?=[:/?#]|\Z)|(?P<ipv6>\[[0-9A-Fa-f:]+\])|(?P<host>[^:/?#]+))"
    r"(?::(?P<port>\d{1,10}))?)"
)
SCALA_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
# Escapes as scala-uri reads them: `%` and two characters Integer.parseInt(hex, 16) takes (a sign counts).
ESCAPE_RUN = re.compile("(?:%(?:[0-9A-Fa-f]{2}|[+-][0-9A-Fa-f]))+")


def _escaped_bytes(run: re.Match[str]) -> str:
    return bytes(int(pair, 16) & 0xFF for pair in run.group().split("%")[1:]).decode("utf-8", "replace")


def _decode(part: str) -> str:
    """PercentDecoder(ignoreInvalidPercentEncoding = true): valid escapes become bytes, any other `%` stays.
    (A run of escapes decodes on its own: a character sent as is always starts a new UTF-8 sequence.)"""
    return ESCAPE_RUN.sub(_escaped_bytes, part) if "%" in part else part


def _encode(part: str) -> str:
    """PercentEncoder: each UTF-8 byte that is not printable ASCII, or is in the set, as %XX (one C-level pass:
    the bytes as Latin-1 characters, translated)."""
    return _decode(part).encode("utf-8", "replace").decode("latin-1").translate(_ENCODE)


def repair(text: str) -> str:
    """The URL as scala-uri writes it back after its lenient parse (Enrich's fallback)."""
    prefix = ""
    absolute = SCALA_ABSOLUTE.match(text)
    if absolute is not None:
        parts = absolute.groupdict()
        host = parts["host"] or parts["ipv6"] or ".".join(str(int(o)) for o in parts["ipv4"].split("."))
        user = "" if parts["user"] is None else _encode(parts["user"])
        if parts["password"] is not None:
            user += ":" + _encode(parts["password"])
        port = "" if parts["port"] is None else f":{int(parts['port'])}"
        prefix = f"{parts['scheme']}://{user + '@' if user else ''}{host}{port}"
        rest = text[absolute.end() :]
        if rest and rest[0] not in "/?#":
            raise URISyntaxError("Invalid URL could not be parsed", text, absolute.end())
    else:
        scheme = SCALA_SCHEME.match(text)
        prefix, rest = (scheme.group(), text[scheme.end() :]) if scheme else ("", text)
    path, _, fragment_part = rest.partition("#")
    path, question, query = path.partition("?")
    repaired = prefix + "/".join(_encode(segment) for segment in path.split("/"))
    if question:
        pairs = []
        for pair in query.split("&"):
            key, equals, value = pair.partition("=")
            pairs.append(_encode(key) + ("=" + _encode(value) if equals else ""))
        repaired += "?" + "&".join(pairs)
    if "#" in rest:
        repaired += "#" + _encode(fragment_part)
    return repaired
