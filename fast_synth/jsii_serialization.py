"""jsii request and struct serialization on the Python side: the same values and requests,
computed with less repeated work (D, G, H, K).

Every jsii call is a round trip Python -> node and back, thousands of them per synth, and
before each one the generated bindings type-check the arguments and jsii turns them into
JSON-ready dicts. These techniques make that preparation cheaper without changing what is sent.

D. *Memoized type checks.* The bindings call ``typing.get_type_hints(<stub>)`` and
   ``typeguard.check_type`` for every argument of every constructor. Hints of the generated
   ``_typecheckingstub__*`` functions are computed once per stub; a *passing* check of a
   primitive value (str/int/float/bool/None), whose outcome depends only on the value's type,
   is remembered per (type, expected type). Failures always run the real check, so the same
   TypeError (with the same message) is raised as before. See
   :func:`install_type_check_memo`.
G. *Properties that cannot change.* ``construct.node``, ``node.path``, ``node.scopes`` and a
   resource's ``terraform_resource_type`` are fixed once the object exists, yet every read is a
   round trip to node (aspects read them for every construct). The getters listed in
   :data:`CONSTANT_PROPERTIES` keep the first answer on the Python object (lists are copied on
   every read). The answer is the very object jsii would return again (one proxy per JS
   object). Installed by :data:`POST_IMPORT`, run by the import finder of
   :mod:`fast_synth.python_imports` right after ``constructs`` and ``cdktf`` are imported.
H. *Struct serialization without the getters.* To send a struct (e.g. a ``JobTask``) to node,
   jsii reads each of its properties through the generated getter, which evaluates
   ``typing.cast(typing.Optional[...], self._values.get(name))``: building the ``typing``
   object costs far more than the value. :func:`install_struct_serialization` reads
   ``self._values.get(name)`` directly for objects that are jsii structs (a
   ``__jsii_name_mapping__`` and a ``_values`` dict): exactly what the getters return, as the
   generated code does nothing else. Everything else goes to jsii's own function. Optional
   properties that were never set (absent from ``_values``; the generated ``__init__`` stores
   only non-``None`` optionals and always stores required ones) are left out instead of being
   sent as ``null``: the kernel drops ``null`` optionals when it deserializes a struct (its
   ``mapValues`` skips ``undefined``), so JavaScript receives the same object, and a
   ``JobConfig`` shrinks from 55 keys to the dozen a job sets.
K. *Requests serialized without cattrs' walk.* jsii unstructures every request with cattrs,
   which copies the argument tree by dispatching on the class of each of its tens of thousands
   of elements. For create/invoke/set requests the payload (already made of plain dicts, lists
   and scalars by jsii) is copied directly; any other value still goes to cattrs, so the dict
   is the one cattrs builds. Scale case: 0.21 -> 0.11 s.

Each ``install_*`` function checks that the jsii/typeguard internals it wraps are the ones it
was written for; otherwise it records a fallback (:class:`~fast_synth.common.FastSynthWarning`)
and leaves them alone.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

from .common import dist_version, fallback, layout, state

# --------------------------------------------------------------------------------------------
# D. memoized type checks (same answers, computed once)
# --------------------------------------------------------------------------------------------

_PRIMITIVES = (str, int, float, bool, type(None))


def install_type_check_memo() -> None:
    """Cache the two pure computations the bindings repeat on every constructor call.

    * ``typing.get_type_hints(_typecheckingstub__<hash>)``: the generated bindings evaluate the
      annotations of a module-level stub function each time a class is instantiated. The stub
      never changes once its module is imported, so its hints are computed once (each caller gets
      a fresh copy of the dict). Any other call goes straight to ``typing.get_type_hints``.
    * ``typeguard.check_type`` (typeguard 2.x) of a *primitive* value (str, int, float, bool,
      None) or of a jsii struct instance: whether it passes depends only on the value's type
      (and, for ``str`` against a sequence type, on whether it is empty), so a *pass* is
      remembered per (type, expected type, emptiness). Failures are never cached: they run the
      original check, which raises the same TypeError as before. Expected types containing
      ``Literal`` or forward references are never cached.
    """
    import typing

    try:
        import typeguard
    except ImportError:  # pragma: no cover
        return
    original_hints = typing.get_type_hints
    original_check = getattr(typeguard, "check_type", None)
    memo_cls = getattr(typeguard, "_TypeCheckMemo", None)
    if (
        original_check is None
        or memo_cls is None
        or not str(dist_version("typeguard")).startswith("2.")
    ):
        fallback("typeguard is not 2.x (type checks not memoized)")
        return
    hints_cache: dict[Any, dict[str, Any]] = {}

    def get_type_hints(obj, globalns=None, localns=None, include_extras=False):
        if (
            globalns is None
            and localns is None
            and not include_extras
            and getattr(obj, "__name__", "").startswith("_typecheckingstub__")
        ):
            hints = hints_cache.get(obj)
            if hints is None:
                hints = hints_cache[obj] = original_hints(obj)
            return dict(hints)
        return original_hints(obj, globalns, localns, include_extras)

    # Keyed by id(): hashing a typing object walks it recursively, which cost more than the
    # check. The expected types are the values of the cached hints above, alive for the whole
    # run; `cacheable` also keeps a reference to each, so an id is never reused.
    cacheable: dict[int, tuple[Any, bool]] = {}
    passed: set[tuple[Any, int, bool]] = set()

    def check_type(argname, value, expected_type, memo=None, *, globals=None, locals=None):
        vtype = type(value)
        key = None
        # A primitive, or a jsii struct (a plain class, checked by isinstance against the
        # annotation's union): the outcome depends only on the value's type.
        if vtype in _PRIMITIVES or "__jsii_name_mapping__" in vtype.__dict__:
            entry = cacheable.get(id(expected_type))
            if entry is None:
                text = repr(expected_type)
                entry = cacheable[id(expected_type)] = (
                    expected_type,
                    "Literal" not in text and "ForwardRef" not in text,
                )
            if entry[1]:
                key = (vtype, id(expected_type), vtype is str and not value)
                if key in passed:
                    return None
        if memo is None:
            frame = sys._getframe(1)
            memo = memo_cls(
                frame.f_globals if globals is None else globals,
                frame.f_locals if locals is None else locals,
            )
        original_check(argname, value, expected_type, memo)
        if key is not None:
            passed.add(key)
        return None

    get_type_hints.__wrapped__ = original_hints  # type: ignore[attr-defined]
    check_type.__wrapped__ = original_check  # type: ignore[attr-defined]
    typing.get_type_hints = get_type_hints
    typeguard.check_type = check_type
    state.type_check_memo = True


# --------------------------------------------------------------------------------------------
# G. remember properties that cannot change
# --------------------------------------------------------------------------------------------


#: (module, class, Python property, jsii name) whose value is fixed once the object exists:
#: ``Construct.node`` is ``readonly node: Node`` set in the constructor (constructs 10); a
#: construct's ``path`` is derived from its ids and scopes, which never change (constructs are
#: never re-parented); ``terraformResourceType`` is a ``readonly`` set in the resource's
#: constructor; ``scopes`` (the ancestors) are as fixed as ``path``. Reading them through jsii
#: costs a round trip to node every time.
def constant_properties(core: str = "cdktf") -> tuple[tuple[str, str, str, str], ...]:
    """The constant properties of constructs and of the framework core ``core`` (``cdktf`` or
    ``cdktn``: the same classes and properties)."""
    return (
        ("constructs", "Construct", "node", "node"),
        ("constructs", "_IConstructProxy", "node", "node"),
        ("constructs", "Node", "path", "path"),
        ("constructs", "Node", "scopes", "scopes"),  # a list: every read gets a fresh copy
        (core, "TerraformResource", "terraform_resource_type", "terraformResourceType"),
        (core, "_ITerraformResourceProxy", "terraform_resource_type", "terraformResourceType"),
        (core, "TerraformDataSource", "terraform_resource_type", "terraformResourceType"),
    )


CONSTANT_PROPERTIES = constant_properties("cdktf")
"""The constant properties for the default engine (cdktf)."""


def cache_constant_properties(module: ModuleType) -> None:
    """Wrap the getters listed in :data:`CONSTANT_PROPERTIES` for ``module``: the first read
    goes to jsii as before and is kept in the object's ``__dict__``; later reads return it (the
    very same Python object jsii would have returned: it keeps one proxy per JS object)."""
    from jsii._reference_map import InterfaceDynamicProxy

    for mod, cls_name, attr, jsii_name in constant_properties(layout().core):
        if mod != module.__name__:
            continue
        cls = getattr(module, cls_name, None) or getattr(
            getattr(module, "_private", None), cls_name, None
        )
        prop = getattr(cls, "__dict__", {}).get(attr)
        fget = getattr(prop, "fget", None)
        member = getattr(fget, "__jsii_name__", None)
        if not isinstance(prop, property) or prop.fset is not None or member != jsii_name:
            fallback(f"{mod}.{cls_name}.{attr} is not the read-only jsii property expected")
            continue
        key = f"_mlops_fast_synth_{attr}"

        def getter(self, _fget=fget, _key=key):
            store = getattr(self, "__dict__", None)
            if store is None or isinstance(self, InterfaceDynamicProxy):
                return _fget(self)
            try:
                value = store[_key]
            except KeyError:
                value = store[_key] = _fget(self)
            return list(value) if type(value) is list else value

        getter.__wrapped__ = fget  # type: ignore[attr-defined]
        getter.__name__ = getattr(fget, "__name__", attr)
        getter.__doc__ = prop.__doc__
        setattr(cls, attr, property(getter, None, None, prop.__doc__))
        state.constant_properties.append(f"{mod}.{cls_name}.{attr}")


def post_import_steps(core: str = "cdktf") -> dict[str, Callable[[ModuleType], None]]:
    """G, run by the import finder of :mod:`fast_synth.python_imports` on these modules."""
    return {"constructs": cache_constant_properties, core: cache_constant_properties}


POST_IMPORT = post_import_steps("cdktf")
"""The post-import steps for the default engine (cdktf)."""


# --------------------------------------------------------------------------------------------
# H. struct serialization without the generated getters
# --------------------------------------------------------------------------------------------


def install_struct_serialization() -> None:
    try:
        import enum

        import jsii._kernel as kernel_module
        from jsii._runtime import python_jsii_mapping
    except ImportError as exc:  # pragma: no cover - jsii is a dependency of cdktf
        fallback(f"jsii kernel module not importable ({exc})")
        return
    original = getattr(kernel_module, "_make_reference_for_native", None)
    if original is None or "$jsii.struct" not in (original.__code__.co_consts or ()):
        fallback("jsii's struct serializer is not the one H was written for")
        return
    if getattr(original, "__wrapped__", None) is not None:
        return  # already installed

    def make_reference_for_native(kernel, d):  # type: ignore[no-untyped-def]
        values = getattr(d, "_values", None) if not isinstance(d, dict | list) else None
        if isinstance(values, dict) and not isinstance(d, enum.Enum):
            fqn = getattr(d, "__jsii_type__", None)
            mapping = python_jsii_mapping(d) if fqn is not None else None
            if mapping is not None:
                return {
                    "$jsii.struct": {
                        "fqn": fqn,
                        "data": {
                            jsii_name: make_reference_for_native(kernel, values[python_name])
                            for python_name, jsii_name in mapping.items()
                            if python_name in values
                        },
                    }
                }
        # jsii's own code for everything else; its recursion calls the module global, which is
        # this function, so nested structs take the fast branch too.
        return original(kernel, d)

    make_reference_for_native.__wrapped__ = original  # type: ignore[attr-defined]
    kernel_module._make_reference_for_native = make_reference_for_native


# --------------------------------------------------------------------------------------------
# K. requests serialized without cattrs' walk over the arguments
# --------------------------------------------------------------------------------------------

#: Request types whose payload can be large (a job's whole settings tree) -> (field, is a list).
_PAYLOAD_FIELDS = {
    "CreateRequest": ("args", True),
    "InvokeRequest": ("args", True),
    "StaticInvokeRequest": ("args", True),
    "SetRequest": ("value", False),
}
_PLAIN = (str, int, float, bool, type(None))


def install_request_serialization() -> None:
    try:
        import attrs
        from jsii._kernel import types as jsii_types
        from jsii._kernel.providers import process as jsii_process
    except ImportError as exc:  # pragma: no cover - jsii depends on attrs and cattrs
        fallback(f"jsii request types not importable ({exc})")
        return
    node_process = jsii_process._NodeProcess
    original_init = node_process.__init__
    if getattr(original_init, "__wrapped__", None) is not None:
        return  # already installed
    classes = {name: getattr(jsii_types, name, None) for name in _PAYLOAD_FIELDS}
    if not all(
        cls is not None
        and attrs.has(cls)
        and _PAYLOAD_FIELDS[name][0] in {a.name for a in attrs.fields(cls)}
        for name, cls in classes.items()
    ):
        fallback("jsii request types are not the ones K was written for")
        return

    def __init__(self, *args, **kwargs):  # noqa: N807 - wraps _NodeProcess.__init__
        original_init(self, *args, **kwargs)
        serializer = getattr(self, "_serializer", None)
        try:
            for name, cls in classes.items():
                original = serializer.get_unstructure_hook(cls)
                serializer.register_unstructure_hook(
                    cls, _payload_hook(serializer, original, *_PAYLOAD_FIELDS[name], attrs.evolve)
                )
        except Exception as exc:  # noqa: BLE001 - never fail the app for an optimisation
            fallback(f"cannot register jsii request serializers ({exc})")

    __init__.__wrapped__ = original_init  # type: ignore[attr-defined]
    node_process.__init__ = __init__


def _payload_hook(serializer, original, field_name: str, is_list: bool, evolve):
    """jsii's own hook for the request with an empty payload, plus the payload copied by
    :func:`_copy_payload`: the same dict cattrs builds. cattrs unstructures a field by its
    declared type: ``List[Any]`` (``args``) gives a list of values unstructured by their runtime
    class, ``Any`` (``value``) the value unstructured by its runtime class."""
    unstructure = serializer.unstructure
    empty = [] if is_list else None

    def hook(request):
        payload = getattr(request, field_name)
        out = original(evolve(request, **{field_name: empty}))
        if payload is None:
            out[field_name] = None
        elif is_list:
            out[field_name] = [_copy_payload(v, unstructure) for v in payload]
        else:
            out[field_name] = _copy_payload(payload, unstructure)
        return out

    return hook


def _copy_payload(value, unstructure):
    """What ``cattrs.Converter.unstructure`` returns for a request payload, built directly.

    The payload comes from jsii's ``_make_reference_for_native``: plain dicts, lists and
    scalars, plus jsii objects that ``json.dumps`` turns into references later. cattrs copies
    dicts and lists by dispatching on every element's class (tens of thousands of lookups per
    job tree); exact ``dict``/``list``/scalar values are copied here the same way, and every
    other value (enums, attrs classes, subclasses, jsii objects) still goes to cattrs.
    """
    kind = type(value)
    if kind is dict:
        return {
            _copy_payload(k, unstructure): _copy_payload(v, unstructure) for k, v in value.items()
        }
    if kind is list:
        return [_copy_payload(v, unstructure) for v in value]
    if kind in _PLAIN:
        return value
    return unstructure(value)
