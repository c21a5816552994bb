import os
import sys

from .cli import main

code = main()
if code == 0 and sys.argv[1:2] == ["study"]:
    # A published study leaves nothing to clean up (its stores went into the run's cache, removed with it),
    # and the interpreter's teardown of pandas, plotly, statsmodels and DuckDB would only make the user wait.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
raise SystemExit(code)
