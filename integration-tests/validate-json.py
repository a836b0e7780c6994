#!/usr/bin/env python3
"""validate-json.py SCHEMA_DIR NAME < DOCUMENT

Validates one JSON document (stdin) against SCHEMA_DIR/NAME, resolving the
$refs between the schema files offline. Exit 0 valid, 1 invalid (each
problem printed with its path), 2 usage or a broken schema.
"""
import json
import pathlib
import sys

import jsonschema


def load_schemas(schema_dir):
    schemas = {}
    for path in sorted(pathlib.Path(schema_dir).glob("*.json")):
        schema = json.loads(path.read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        schemas[path.name] = schema
    return schemas


def validator(schemas, name):
    schema = schemas[name]
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    try:
        # jsonschema >= 4.18 resolves through a registry ...
        from referencing import Registry, Resource

        registry = Registry().with_resources(
            (s["$id"], Resource.from_contents(s)) for s in schemas.values()
        )
        return jsonschema.Draft202012Validator(
            schema, registry=registry, format_checker=checker
        )
    except ImportError:
        # ... older ones (Debian bookworm's 4.10) through a RefResolver.
        store = {s["$id"]: s for s in schemas.values()}
        resolver = jsonschema.RefResolver(schema["$id"], schema, store=store)
        return jsonschema.Draft202012Validator(
            schema, resolver=resolver, format_checker=checker
        )


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        schemas = load_schemas(sys.argv[1])
        v = validator(schemas, sys.argv[2])
    except (KeyError, OSError, ValueError, jsonschema.SchemaError) as e:
        print(f"validate-json: cannot load schema {sys.argv[2]}: {e}", file=sys.stderr)
        return 2
    try:
        doc = json.load(sys.stdin)
    except ValueError as e:
        print(f"validate-json: not JSON: {e}", file=sys.stderr)
        return 1
    errors = sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))
    for e in errors:
        where = "/".join(str(p) for p in e.absolute_path) or "(top)"
        print(f"{sys.argv[2]}: {where}: {e.message}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
