"""Running reports: many at once (``batch``: process pool or Dask) and the demo."""
