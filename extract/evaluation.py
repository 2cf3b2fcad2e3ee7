"""Evaluation: how right the records are, field by field, and which system is better.

The public path of ``extract/apps/evaluation/``: see there.
"""

from .apps.evaluation import *  # noqa: F403 - the names its __all__ lists
from .apps.evaluation import __all__ as __all__
