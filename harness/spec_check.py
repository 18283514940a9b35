"""Checks grade.py's spec.json against spec.schema.json, the JSON schema of the host's HarnessSpec model.

Standard library only (it runs inside the eval container): the subset of JSON schema that pydantic writes for that
model (type, properties, required, additionalProperties, items, anyOf, $ref into $defs).

Usage from grade.py: check(spec, path_of_the_schema) raises ValueError naming every mismatch.
"""

import json

TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict,
         "null": type(None)}


def check(spec, schema_path):
    with open(schema_path) as handle:
        schema = json.load(handle)
    found = problems(spec, schema, schema, "spec")
    if found:
        raise ValueError("spec.json does not match spec.schema.json: " + "; ".join(found[:5]))


def problems(value, schema, root, where):
    if "$ref" in schema:
        return problems(value, root["$defs"][schema["$ref"].rsplit("/", 1)[1]], root, where)
    if "anyOf" in schema:
        if any(not problems(value, option, root, where) for option in schema["anyOf"]):
            return []
        return ["%s: %r is none of the allowed types" % (where, value)]
    kind = schema.get("type")
    if kind and not is_a(value, kind):
        return ["%s: expected %s, got %s" % (where, kind, type(value).__name__)]
    if kind == "object":
        return object_problems(value, schema, root, where)
    if kind == "array" and "items" in schema:
        return [p for i, item in enumerate(value) for p in problems(item, schema["items"], root, "%s[%d]" % (where, i))]
    return []


def object_problems(value, schema, root, where):
    properties = schema.get("properties", {})
    found = ["%s: missing %s" % (where, key) for key in schema.get("required", []) if key not in value]
    if schema.get("additionalProperties") is False:
        found += ["%s: unknown field %s" % (where, key) for key in value if key not in properties]
    for key, item in value.items():
        if key in properties:
            found += problems(item, properties[key], root, "%s.%s" % (where, key))
    return found


def is_a(value, kind):
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, TYPES[kind])
