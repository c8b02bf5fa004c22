"""Convert one document to DOCX in a resident LibreOffice, through UNO.

Run as a script by the system Python (``/usr/bin/python3``): Debian's
``python3-uno`` exists only for it, not for the project's interpreter. See
``resident_office`` for who starts it and what its exit codes mean.

    uno_convert.py PIPE_NAME SOURCE TARGET CONNECT_WAIT_S
"""

from __future__ import annotations

import os
import sys
import time

# exit codes, mirrored in resident_office
CONNECTED_NOT = 3  # no resident answered on the pipe within CONNECT_WAIT_S
DOCUMENT_REFUSED = 4  # the resident is fine but could not load or store this document


def _prop(name: str, value: object) -> object:
    from com.sun.star.beans import PropertyValue

    prop = PropertyValue()
    prop.Name = name
    prop.Value = value
    return prop


def main(pipe_name: str, source: str, target: str, connect_wait_s: float) -> int:
    import uno
    from com.sun.star.connection import NoConnectException
    from com.sun.star.io import IOException
    from com.sun.star.lang import IllegalArgumentException

    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + connect_wait_s
    while True:  # a resident just started needs a second or two to open its pipe
        try:
            context = resolver.resolve(f"uno:pipe,name={pipe_name};urp;StarOffice.ComponentContext")
            break
        except NoConnectException:
            if time.monotonic() > deadline:
                return CONNECTED_NOT
            time.sleep(0.05)
    desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
    # as soffice --convert-to loads: hidden, read-only, no macros, no link updates
    load_args = (
        _prop("Hidden", True),
        _prop("ReadOnly", True),
        _prop("MacroExecutionMode", 0),  # css.document.MacroExecMode.NEVER_EXECUTE
        _prop("UpdateDocMode", 0),  # css.document.UpdateDocMode.NO_UPDATE
    )
    try:
        document = desktop.loadComponentFromURL(uno.systemPathToFileUrl(source), "_blank", 0, load_args)
    except (IOException, IllegalArgumentException):
        return DOCUMENT_REFUSED
    if document is None:
        return DOCUMENT_REFUSED
    try:
        document.storeToURL(uno.systemPathToFileUrl(target), (_prop("FilterName", "MS Word 2007 XML"),))
    except IOException:
        return DOCUMENT_REFUSED
    finally:
        document.close(True)
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]))
    # Python's teardown of the UNO bridge crashed now and then (SIGSEGV, "free():
    # invalid pointer"; 1 client in 60 here, 2 of 60 DOCs in a 2,000 bench) after
    # the document was stored: the resident was then taken for broken, killed,
    # and the document converted again by a LibreOffice of its own (~200 MB and
    # ~2.4 s of CPU more). Nothing is left to tear down: leave without it
    # (0 crashes in 150 conversions).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
