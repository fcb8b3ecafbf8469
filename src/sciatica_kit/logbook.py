"""Former home of the tidy log, kept so code written against it still imports: use :mod:`sciatica_kit.log`."""

from sciatica_kit.log import *  # noqa: F403
from sciatica_kit.log import __all__  # noqa: F401
