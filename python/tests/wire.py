"""Checks of the package's wire types (earshot.types TypedDicts): against an OpenAPI schema, and against real answers."""

from typing import Any, Literal, Optional, Union, get_args, get_origin, get_type_hints

NoneType = type(None)


def is_typeddict(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, dict) and hasattr(hint, "__required_keys__")


def _literal_values(hint: Any) -> "list[Any] | None":
    return list(get_args(hint)) if get_origin(hint) is Literal else None


def openapi_of(hint: Any) -> dict[str, Any]:
    """The OpenAPI schema a Python hint stands for, in the terms @nestjs/swagger writes: a TypedDict ``X`` is a
    reference to the component ``XDto``; ``Optional`` is ``nullable``."""
    args = get_args(hint)
    if get_origin(hint) is Union and NoneType in args:
        (inner,) = [a for a in args if a is not NoneType]
        return {**openapi_of(inner), "nullable": True}
    if get_origin(hint) is Union:
        return {"oneOf": [openapi_of(a) for a in args]}
    literals = _literal_values(hint)
    if literals is not None:
        return {"type": "string", "enum": sorted(literals)}
    if get_origin(hint) is list:
        return {"type": "array", "items": openapi_of(args[0])}
    if is_typeddict(hint):
        return {"$ref": f"#/components/schemas/{hint.__name__}Dto"}
    return {"type": {str: "string", int: "integer", float: "number", bool: "boolean"}[hint]}


def _comparable(schema: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in schema.items() if k in ("type", "enum", "$ref", "nullable", "items", "oneOf")}
    if "oneOf" in kept:
        kept["oneOf"] = [_comparable(s) for s in kept["oneOf"]]
    if "enum" in kept:
        kept["enum"] = sorted(kept["enum"])
    if "items" in kept:
        kept["items"] = _comparable(kept["items"])
    if kept.get("nullable") is False:
        del kept["nullable"]
    return kept


def openapi_mismatches(typed: Any, components: dict[str, Any], component: Optional[str] = None) -> list[str]:
    """How a TypedDict (and the TypedDicts it refers to) differs from its component schema (``XDto`` for ``X``):
    fields missing or extra on either side, required-ness, and each field's type."""
    component = component or f"{typed.__name__}Dto"
    schema = components.get(component)
    if schema is None:
        return [f"{typed.__name__}: no component {component} in the OpenAPI document"]
    hints = get_type_hints(typed)
    problems = []
    for name in sorted(set(hints) - set(schema["properties"])):
        problems.append(f"{typed.__name__}.{name}: in the Python type, not in the service's schema")
    for name in sorted(set(schema["properties"]) - set(hints)):
        problems.append(f"{typed.__name__}.{name}: in the service's schema, missing from the Python type")
    if set(typed.__required_keys__) != set(schema.get("required", [])):
        problems.append(f"{typed.__name__}: required {sorted(typed.__required_keys__)} != schema {sorted(schema.get('required', []))}")
    for name in sorted(set(hints) & set(schema["properties"])):
        want, have = _comparable(schema["properties"][name]), openapi_of(hints[name])
        if want != have:
            problems.append(f"{typed.__name__}.{name}: Python {have} != schema {want}")
        for referred in _typeddicts_in(hints[name]):
            problems.extend(openapi_mismatches(referred, components))
    return problems


def _typeddicts_in(hint: Any) -> list[Any]:
    if is_typeddict(hint):
        return [hint]
    return [t for arg in get_args(hint) for t in _typeddicts_in(arg)]


def assert_wire(value: Any, hint: Any, where: str = "answer") -> None:
    """A real answer fits its declared type: no undeclared field, every required one, every value of its type."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return
    if origin is Union:
        failures = []
        for option in args:
            try:
                assert_wire(value, option, where)
                return
            except AssertionError as err:
                failures.append(str(err))
        raise AssertionError(f"{where}: {value!r} fits none of {hint}: {failures}")
    if hint is NoneType:
        assert value is None, f"{where}: {value!r} is not null"
    elif origin is Literal:
        assert value in args, f"{where}: {value!r} is not one of {args}"
    elif origin is list:
        assert isinstance(value, list), f"{where}: {value!r} is not a list"
        for i, item in enumerate(value):
            assert_wire(item, args[0], f"{where}[{i}]")
    elif origin is dict:
        assert isinstance(value, dict), f"{where}: {value!r} is not an object"
        for key, item in value.items():
            assert_wire(item, args[1], f"{where}.{key}")
    elif is_typeddict(hint):
        assert isinstance(value, dict), f"{where}: {value!r} is not an object"
        hints = get_type_hints(hint)
        undeclared = set(value) - set(hints)
        assert not undeclared, f"{where}: fields {sorted(undeclared)} are not in {hint.__name__}"
        missing = set(hint.__required_keys__) - set(value)
        assert not missing, f"{where}: required fields {sorted(missing)} of {hint.__name__} are missing"
        for key, item in value.items():
            assert_wire(item, hints[key], f"{where}.{key}")
    elif hint is float:
        assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{where}: {value!r} is not a number"
    elif hint is int:
        assert isinstance(value, int) and not isinstance(value, bool), f"{where}: {value!r} is not an integer"
    else:
        assert isinstance(value, hint), f"{where}: {value!r} is not {hint.__name__}"

