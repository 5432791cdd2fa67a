"""jsii request serialization (fast_synth/jsii_serialization.py, K): the same dicts as cattrs
builds, and the fallback when jsii's request types change. (D, G and H are covered end to end
by test_same_bytes.py.)"""

from __future__ import annotations

import json

import pytest

import fast_synth
from fast_synth.jsii_serialization import install_request_serialization


class _Native:
    """Stands for a jsii object inside a payload (cattrs passes it through; json uses its ref)."""

    def __init__(self) -> None:
        from jsii._kernel.types import ObjRef

        self.__jsii_ref__ = ObjRef(ref="native@1")


def test_request_payloads_unstructure_exactly_as_cattrs_does(monkeypatch) -> None:
    import enum

    from jsii._kernel import types as jt
    from jsii._kernel.providers import process as jp

    class Colour(enum.Enum):
        RED = "red"

    Colour.__jsii_type__ = "test.Colour"
    native = _Native()
    payload = [
        "s",
        1,
        2.5,
        True,
        None,
        native,
        Colour.RED,
        {"$jsii.struct": {"fqn": "x.Y", "data": {"a": [1, {"b": None}], "c": native}}},
        {"$jsii.map": {"k": ["v", {"deep": [[], {}]}]}},
        jt.ObjRef(ref="x@1"),
    ]
    requests = [
        jt.CreateRequest(
            fqn="x.Y", args=payload, overrides=[jt.Override(method="m")], interfaces=["x.I"]
        ),
        jt.InvokeRequest(objref=jt.ObjRef(ref="x@1"), method="m", args=payload),
        jt.InvokeRequest(objref=jt.ObjRef(ref="x@1"), method="m", args=None),
        jt.StaticInvokeRequest(fqn="x.Y", method="m", args=[]),
        jt.SetRequest(objref=jt.ObjRef(ref="x@1"), property="p", value=payload[7]),
        jt.SetRequest(objref=jt.ObjRef(ref="x@1"), property="p", value=Colour.RED),
    ]

    class Probe(jp._NodeProcess):  # the serializer only: never started, nothing to stop
        def __del__(self) -> None:
            pass

    init = jp._NodeProcess.__init__
    monkeypatch.setattr(jp._NodeProcess, "__init__", init)  # undo the install below afterwards
    ordinary, fast = object.__new__(Probe), object.__new__(Probe)
    getattr(init, "__wrapped__", init)(ordinary)
    install_request_serialization()
    jp._NodeProcess.__init__(fast)
    for request in requests:
        want = ordinary._serializer.unstructure(request)
        got = fast._serializer.unstructure(request)
        assert got == want and list(got) == list(want), request
        assert json.dumps(got, default=jp.jdefault) == json.dumps(want, default=jp.jdefault)


def test_request_serialization_falls_back_when_jsii_changes(monkeypatch) -> None:
    from jsii._kernel import types as jt
    from jsii._kernel.providers import process as jp

    init = jp._NodeProcess.__init__
    monkeypatch.setattr(jp._NodeProcess, "__init__", getattr(init, "__wrapped__", init))
    monkeypatch.delattr(jt, "SetRequest")
    before = jp._NodeProcess.__init__
    with pytest.warns(fast_synth.FastSynthWarning, match="not the ones K was written for"):
        install_request_serialization()
    assert jp._NodeProcess.__init__ is before
