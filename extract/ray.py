"""The Ray engine: extraction as actor pools on a Ray cluster.

The public path of ``extract/apps/ray.py``: see there.
"""

from .apps.ray import *  # noqa: F403 - the names its __all__ lists
from .apps.ray import __all__ as __all__
