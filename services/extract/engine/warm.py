"""Imported by the extraction forkserver alone (``bounded._context``'s
preload list): the readers' libraries and tables built once there, before
any child forks, so every pool child shares them instead of building its
own copy (OpenCC's tables, the script tests' character sets, PDFium)."""

from services.extract.engine.bounded import _preload

_preload()
