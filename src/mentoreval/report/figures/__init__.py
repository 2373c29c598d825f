"""Report figures: colour-blind-safe, directly labelled, deterministic SVG.

One module per chart family; :mod:`mentoreval.report.figures.charts` gathers them. The
package itself imports nothing, so a process that only saves figures or prints a PDF (the
report's helper, :mod:`mentoreval.report.helper`) imports :mod:`~.saving` and its style
without every chart module and what they use (pandas, SciPy): about a second less of a
helper's start, spent while the main process analyses (issue 18).
"""
