"""A handler module that cannot be imported: the runtime reports ``Runtime.ImportModuleError`` at init."""

import ric_apps_missing_dependency  # noqa: F401

handler = None
