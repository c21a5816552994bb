"""Publishing: pages, charts, results.json, the report folder and the `workbench study` run."""
