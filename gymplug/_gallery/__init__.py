"""The gallery behind ``gymplug gallery``: previews rendered in worker processes, kept between runs, written as a site.

Imports neither Pillow nor Jinja2 until a gallery is made (``gymplug[gallery]``): the workers import
Pillow, the site writer Jinja2.
"""

from __future__ import annotations

__all__: list[str] = []
