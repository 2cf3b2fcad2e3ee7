"""Test your parsers and pipelines with the same models you extract with.

The public path of ``extract/apps/testing/``: see there.
"""

from .apps.testing import *  # noqa: F403 - the names its __all__ lists
from .apps.testing import __all__ as __all__
