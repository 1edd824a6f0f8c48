"""The monitor's HTTP API: one set of Tornado handlers over the monitor query layer.

Two servers mount it and differ only in how a request is authenticated:

- the Jupyter server extension (:mod:`pynenc_nb.jupyter_server`): Jupyter's identity provider,
  authorizer and XSRF checks, under ``<base_url>/pynenc/api/``;
- ``pynenc monitor`` (:mod:`pynenc_nb.web.standalone`): a random token printed at start, then a
  signed cookie, plus Tornado's XSRF check on POST; it also serves a small page.

The browser gets opaque app keys, redacted backend descriptions and monitor view-models (display
strings only): never connection URLs, serialized arguments or pickles. Apps are opened by the
server only to read their backends; no module of the user is imported.
"""

from __future__ import annotations

from pynenc_nb.web.catalog import AppCatalog, KnownApp
from pynenc_nb.web.handlers import API_PREFIX, AUTH_RESOURCE, CATALOG_SETTING, api_handlers

__all__ = ["API_PREFIX", "AUTH_RESOURCE", "CATALOG_SETTING", "AppCatalog", "KnownApp", "api_handlers"]
