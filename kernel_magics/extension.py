"""``%load_ext pynenc_nb``: what a notebook gets that a script does not.

The magics, live cards for ``display(invocation)`` and live progress bars for ``display(group)`` and
``group.wait_interactive()`` (the core's ``_repr_html_`` is static and imports no widget code), and
pynenc's log handler on the kernel's stderr.
"""

from __future__ import annotations

from typing import Any

from pynenc_nb.conf import load_config
from pynenc_nb.invocation.handle import Invocation, InvocationGroup, set_progress_display
from pynenc_nb.logs import configure_logging, set_console_level


def load_ipython_extension(ipython: Any) -> None:
    from kernel_magics.magics import PynencMagics
    from pynenc_nb.widgets.group import display_group
    from pynenc_nb.widgets.invocation import display_invocation

    ipython.register_magics(PynencMagics)
    ipython.display_formatter.ipython_display_formatter.for_type(Invocation, display_invocation)
    ipython.display_formatter.ipython_display_formatter.for_type(InvocationGroup, display_group)
    set_progress_display(display_group)
    set_console_level("WARNING")  # cells show warnings and errors; runners' INFO lines go to their logs
    configure_logging(load_config({})[0])  # PYNENC__* and config files, as an app of this kernel reads them
