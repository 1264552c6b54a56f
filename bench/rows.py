"""Helpers for the set-up scripts of both systems (bench/storefront_setup.py in Storefront's
virtualenv, bench/oscar_setup.py in Oscar's): plain Python, no import of either."""


def set_fields(instance, values: dict) -> str:
    """Give the model `instance` these field values; save it and answer "updated" if any
    differed, else "unchanged" (what the set-up scripts report for each row)."""
    changed = [name for name, value in values.items() if getattr(instance, name) != value]
    if not changed:
        return "unchanged"
    for name in changed:
        setattr(instance, name, values[name])
    instance.save()
    return "updated"
