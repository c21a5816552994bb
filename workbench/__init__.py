"""Customer Success analytics workbench: what actually predicts renewal, with honest statistics.

Start from `Study`: ``Study.load(folder, as_of=...)``, then ``study.validity()``.
"""

__version__ = "0.1.0"

from .study import Study  # noqa: E402 - the version first: modules that report it import it from here
from .tables import Result  # noqa: E402

__all__ = ["Result", "Study", "__version__"]
