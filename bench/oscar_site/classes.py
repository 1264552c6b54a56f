"""Oscar's class loader for the bench site (settings.OSCAR_DYNAMIC_CLASS_LOADER).

Oscar's default loader, except for the classes of OVERRIDES (bench/oscar_site/shop.py): the
documented way to replace one of Oscar's classes without forking its app.
"""

from django.utils.module_loading import import_string
from oscar.core.loading import default_class_loader

OVERRIDES = {
    ("shipping.repository", "Repository"): "bench.oscar_site.shop.Repository",
    ("partner.strategy", "Selector"): "bench.oscar_site.shop.Selector",
}


def class_loader(module_label, classnames, module_prefix):
    found = default_class_loader(module_label, classnames, module_prefix)
    if module_prefix != "oscar.apps":
        return found
    return [
        import_string(OVERRIDES[(module_label, name)]) if (module_label, name) in OVERRIDES else cls
        for name, cls in zip(classnames, found, strict=True)
    ]
