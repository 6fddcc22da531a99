"""Schemathesis hooks for .ci/schemathesis.sh: request bodies that are not JSON.

A tus chunk (application/offset+octet-stream) goes as the raw bytes generated, a scheme
(application/toml) as its text: both endpoints get their junk, as every other one does.
"""

import schemathesis


def _raw(value):
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return repr(value).encode("utf-8")


@schemathesis.serializer("application/offset+octet-stream")
def tus_chunk(ctx, value):
    return _raw(value)


@schemathesis.serializer("application/toml")
def toml_text(ctx, value):
    return _raw(value)
